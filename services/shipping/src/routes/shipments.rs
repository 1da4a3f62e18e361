//! `GET /shipments/{order_id}` and `GET /shipments/summary`.

use apiary_chassis::extract::Path;
use apiary_wire::ids::TokenId;
use apiary_wire::shop::{Shipment, ShipmentSummary};
use axum::extract::State;

use super::{AppError, AppState};

/// The shipment of an order: `pending` until the warehouse ships it, then `shipped` with a
/// tracking id. 404 until the order's event has been processed.
#[utoipa::path(
    get,
    path = "/shipments/{order_id}",
    params(("order_id" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "the order's id")),
    responses(
        (status = 200, body = Shipment),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_order_id"),
        (status = 404, body = apiary_wire::ErrorBody, description = "shipment_not_found"),
    )
)]
pub async fn get_shipment(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<axum::Json<Shipment>, AppError> {
    let order_id = TokenId::parse(&raw, "order_id").map_err(AppError::InvalidOrderId)?;
    state
        .shipments
        .get(order_id.into_string())
        .await?
        .map(axum::Json)
        .ok_or(AppError::ShipmentNotFound(raw))
}

/// Pending and shipped shipments.
#[utoipa::path(
    get,
    path = "/shipments/summary",
    responses((status = 200, body = ShipmentSummary))
)]
pub async fn shipment_summary(
    State(state): State<AppState>,
) -> Result<axum::Json<ShipmentSummary>, AppError> {
    Ok(axum::Json(state.shipments.summary().await?))
}
