//! `GET /api/orders/{order_id}`.

use apiary_chassis::extract::Path;
use apiary_wire::shop::Order;
use axum::Json;
use axum::extract::State;

use super::{AppError, AppState};
use crate::domain::OrderId;
use crate::storefront;

/// An order as recorded by the orders service.
#[utoipa::path(
    get,
    path = "/api/orders/{order_id}",
    tag = "orders",
    params(("order_id" = apiary_wire::ids::TokenId, Path)),
    responses(
        (status = 200, body = Order),
        (status = 400, body = apiary_wire::ErrorBody, description = "malformed id"),
        (status = 404, body = apiary_wire::ErrorBody, description = "no such order"),
        (status = 502, body = apiary_wire::ErrorBody),
        (status = 503, body = apiary_wire::ErrorBody),
        (status = 504, body = apiary_wire::ErrorBody),
    )
)]
pub async fn get_order(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
) -> Result<Json<Order>, AppError> {
    let order_id = OrderId::parse(&order_id)?;
    Ok(Json(storefront::order(&state.clients, &order_id).await?))
}
