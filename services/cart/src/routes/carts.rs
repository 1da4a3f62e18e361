//! `/carts/...`: view, add, set, remove, delete, stats.

use std::time::Instant;

use apiary_chassis::extract::{Json, Path};
use apiary_wire::shop::{AddToCart, Cart, CartStats, LineItem, SetQuantity as SetQuantityBody};
use axum::extract::State;
use axum::http::StatusCode;

use super::{AppError, AppState, epoch_ms};
use crate::domain::{AddQuantity, CartId, ProductId, SetQuantity};
use crate::store::CartView;

fn cart_id(raw: &str) -> Result<CartId, AppError> {
    CartId::parse(raw).map_err(|e| AppError::InvalidCartId(e.to_string()))
}

fn product_id(raw: &str) -> Result<ProductId, AppError> {
    ProductId::parse(raw).map_err(|e| AppError::InvalidProductId(e.to_string()))
}

fn to_wire(id: &CartId, view: CartView) -> axum::Json<Cart> {
    axum::Json(Cart {
        cart_id: id.to_string(),
        items: view
            .lines
            .into_iter()
            .map(|(product, quantity)| LineItem {
                product_id: product.to_string(),
                quantity,
            })
            .collect(),
        expires_at_ms: view.expires_at.map(epoch_ms),
    })
}

/// The cart; an unknown or expired cart is an empty one. Viewing keeps the cart alive.
#[utoipa::path(
    get,
    path = "/carts/{cart_id}",
    params(("cart_id" = apiary_wire::ids::TokenId, Path, description = "1-64 characters of [A-Za-z0-9_-]")),
    responses(
        (status = 200, body = Cart),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_cart_id"),
    )
)]
pub async fn get_cart(
    State(store): State<AppState>,
    Path(raw): Path<String>,
) -> Result<axum::Json<Cart>, AppError> {
    let id = cart_id(&raw)?;
    slow_store().await;
    Ok(to_wire(&id, store.view(&id, Instant::now())))
}

/// Adds units of a product, creating the cart and the line as needed.
#[utoipa::path(
    post,
    path = "/carts/{cart_id}/items",
    params(("cart_id" = apiary_wire::ids::TokenId, Path, description = "1-64 characters of [A-Za-z0-9_-]")),
    request_body = LineItem,
    responses(
        (status = 200, body = Cart),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_cart_id, invalid_product_id, malformed_json"),
        (status = 415, body = apiary_wire::ErrorBody, description = "not application/json"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid_quantity (1-99), quantity_limit (99 a line), cart_full (50 lines), invalid_body"),
    )
)]
pub async fn add_item(
    State(store): State<AppState>,
    Path(raw): Path<String>,
    Json(body): Json<AddToCart>,
) -> Result<axum::Json<Cart>, AppError> {
    let id = cart_id(&raw)?;
    let product = product_id(&body.product_id)?;
    let quantity = AddQuantity::parse(body.quantity)?;
    slow_store().await;
    let view = store.add(&id, &product, quantity, Instant::now())?;
    Ok(to_wire(&id, view))
}

/// Sets a line's quantity; 0 removes the line.
#[utoipa::path(
    put,
    path = "/carts/{cart_id}/items/{product_id}",
    params(
        ("cart_id" = apiary_wire::ids::TokenId, Path, description = "1-64 characters of [A-Za-z0-9_-]"),
        ("product_id" = apiary_wire::ids::ProductId, Path, description = "e.g. BK-0001"),
    ),
    request_body = SetQuantityBody,
    responses(
        (status = 200, body = Cart),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_cart_id, invalid_product_id"),
        (status = 404, body = apiary_wire::ErrorBody, description = "line_not_found"),
        (status = 422, body = apiary_wire::ErrorBody, description = "quantity_limit (more than 99), invalid_body"),
    )
)]
pub async fn set_quantity(
    State(store): State<AppState>,
    Path((raw_cart, raw_product)): Path<(String, String)>,
    Json(body): Json<SetQuantityBody>,
) -> Result<axum::Json<Cart>, AppError> {
    let id = cart_id(&raw_cart)?;
    let product = product_id(&raw_product)?;
    let quantity = SetQuantity::parse(body.quantity)?;
    slow_store().await;
    let view = store.set_quantity(&id, &product, quantity, Instant::now())?;
    Ok(to_wire(&id, view))
}

/// Removes a line (idempotent: a line that is not there is already removed).
#[utoipa::path(
    delete,
    path = "/carts/{cart_id}/items/{product_id}",
    params(
        ("cart_id" = apiary_wire::ids::TokenId, Path, description = "1-64 characters of [A-Za-z0-9_-]"),
        ("product_id" = apiary_wire::ids::ProductId, Path, description = "e.g. BK-0001"),
    ),
    responses(
        (status = 200, body = Cart),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_cart_id, invalid_product_id"),
    )
)]
pub async fn remove_item(
    State(store): State<AppState>,
    Path((raw_cart, raw_product)): Path<(String, String)>,
) -> Result<axum::Json<Cart>, AppError> {
    let id = cart_id(&raw_cart)?;
    let product = product_id(&raw_product)?;
    slow_store().await;
    Ok(to_wire(
        &id,
        store.remove_line(&id, &product, Instant::now()),
    ))
}

/// Empties the cart (idempotent); checkout calls this once the order is placed.
#[utoipa::path(
    delete,
    path = "/carts/{cart_id}",
    params(("cart_id" = apiary_wire::ids::TokenId, Path, description = "1-64 characters of [A-Za-z0-9_-]")),
    responses(
        (status = 204, description = "the cart is gone (or never was)"),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_cart_id"),
    )
)]
pub async fn delete_cart(
    State(store): State<AppState>,
    Path(raw): Path<String>,
) -> Result<StatusCode, AppError> {
    let id = cart_id(&raw)?;
    slow_store().await;
    store.delete(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// Carts and units held now, and carts expired since start.
#[utoipa::path(
    get,
    path = "/carts/stats",
    responses((status = 200, body = CartStats))
)]
pub async fn stats(State(store): State<AppState>) -> axum::Json<CartStats> {
    let stats = store.stats(Instant::now());
    axum::Json(CartStats {
        active_carts: stats.active_carts,
        units: stats.units,
        expired_total: stats.expired_total,
    })
}

/// The slow-store fault: every store operation waits first (a no-op without the fault).
async fn slow_store() {
    if let Some(delay) = apiary_chassis::faults::store_delay().await {
        tokio::time::sleep(delay).await;
    }
}
