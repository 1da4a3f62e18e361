//! `/api/carts`: create a cart id, show a cart, add, change and remove lines.

use apiary_chassis::extract::{Json, Path};
use axum::extract::State;
use axum::http::StatusCode;

use super::{AppError, AppState};
use crate::domain::{CartId, LineQuantity, ProductId, Quantity};
use crate::storefront::{self, AddItemBody, CartView, NewCartView, SetQuantityBody};

/// A new, empty cart. Nothing is stored until the first line is added (an unknown cart is an
/// empty one), so this is only an id.
#[utoipa::path(
    post,
    path = "/api/carts",
    tag = "carts",
    responses((status = 201, body = NewCartView))
)]
pub async fn create_cart() -> (StatusCode, axum::Json<NewCartView>) {
    let cart_id = CartId::new_random();
    (
        StatusCode::CREATED,
        axum::Json(NewCartView {
            cart_id: cart_id.to_string(),
        }),
    )
}

/// A cart with product titles, prices, line totals, units and the subtotal.
#[utoipa::path(
    get,
    path = "/api/carts/{cart_id}",
    tag = "carts",
    params(("cart_id" = apiary_wire::ids::TokenId, Path, description = "1-64 of A-Z a-z 0-9 _ -")),
    responses(
        (status = 200, body = CartView),
        (status = 400, body = apiary_wire::ErrorBody, description = "malformed cart id"),
        (status = 502, body = apiary_wire::ErrorBody),
        (status = 503, body = apiary_wire::ErrorBody),
        (status = 504, body = apiary_wire::ErrorBody),
    )
)]
pub async fn get_cart(
    State(state): State<AppState>,
    Path(cart_id): Path<String>,
) -> Result<axum::Json<CartView>, AppError> {
    let cart_id = CartId::parse(&cart_id)?;
    Ok(axum::Json(
        storefront::show_cart(&state.clients, &cart_id).await?,
    ))
}

/// Adds `quantity` (1-99) of a product. The product must exist (404 `unknown_product`); when
/// inventory answers with fewer units available, 409 `out_of_stock`.
#[utoipa::path(
    post,
    path = "/api/carts/{cart_id}/items",
    tag = "carts",
    params(("cart_id" = apiary_wire::ids::TokenId, Path)),
    request_body = AddItemBody,
    responses(
        (status = 200, body = CartView),
        (status = 400, body = apiary_wire::ErrorBody, description = "malformed id or JSON"),
        (status = 404, body = apiary_wire::ErrorBody, description = "unknown_product"),
        (status = 409, body = apiary_wire::ErrorBody, description = "out_of_stock"),
        (status = 415, body = apiary_wire::ErrorBody, description = "not application/json"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid_quantity or body"),
        (status = 502, body = apiary_wire::ErrorBody),
        (status = 503, body = apiary_wire::ErrorBody),
        (status = 504, body = apiary_wire::ErrorBody),
    )
)]
pub async fn add_item(
    State(state): State<AppState>,
    Path(cart_id): Path<String>,
    Json(body): Json<AddItemBody>,
) -> Result<axum::Json<CartView>, AppError> {
    let cart_id = CartId::parse(&cart_id)?;
    let product_id = ProductId::parse(&body.product_id)?;
    let quantity = Quantity::parse(body.quantity)?;
    Ok(axum::Json(
        storefront::add_to_cart(&state.clients, &cart_id, &product_id, quantity).await?,
    ))
}

/// Sets a line's quantity (0-99; 0 removes the line).
#[utoipa::path(
    put,
    path = "/api/carts/{cart_id}/items/{product_id}",
    tag = "carts",
    params(("cart_id" = apiary_wire::ids::TokenId, Path), ("product_id" = apiary_wire::ids::ProductId, Path)),
    request_body = SetQuantityBody,
    responses(
        (status = 200, body = CartView),
        (status = 400, body = apiary_wire::ErrorBody),
        (status = 404, body = apiary_wire::ErrorBody, description = "line_not_found: the product is not in the cart"),
        (status = 409, body = apiary_wire::ErrorBody, description = "out_of_stock"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid_quantity"),
        (status = 502, body = apiary_wire::ErrorBody),
        (status = 503, body = apiary_wire::ErrorBody),
        (status = 504, body = apiary_wire::ErrorBody),
    )
)]
pub async fn set_item_quantity(
    State(state): State<AppState>,
    Path((cart_id, product_id)): Path<(String, String)>,
    Json(body): Json<SetQuantityBody>,
) -> Result<axum::Json<CartView>, AppError> {
    let cart_id = CartId::parse(&cart_id)?;
    let product_id = ProductId::parse(&product_id)?;
    let quantity = LineQuantity::parse(body.quantity)?;
    Ok(axum::Json(
        storefront::set_quantity(&state.clients, &cart_id, &product_id, quantity).await?,
    ))
}

/// Removes a line.
#[utoipa::path(
    delete,
    path = "/api/carts/{cart_id}/items/{product_id}",
    tag = "carts",
    params(("cart_id" = apiary_wire::ids::TokenId, Path), ("product_id" = apiary_wire::ids::ProductId, Path)),
    responses(
        (status = 200, body = CartView),
        (status = 400, body = apiary_wire::ErrorBody),
        (status = 502, body = apiary_wire::ErrorBody),
        (status = 503, body = apiary_wire::ErrorBody),
        (status = 504, body = apiary_wire::ErrorBody),
    )
)]
pub async fn remove_item(
    State(state): State<AppState>,
    Path((cart_id, product_id)): Path<(String, String)>,
) -> Result<axum::Json<CartView>, AppError> {
    let cart_id = CartId::parse(&cart_id)?;
    let product_id = ProductId::parse(&product_id)?;
    Ok(axum::Json(
        storefront::remove_line(&state.clients, &cart_id, &product_id).await?,
    ))
}
