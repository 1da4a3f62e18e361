//! The inventory's HTTP API.

mod reservations;
mod stock;

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::InvalidReservation;
use crate::store::{InventoryError, InventoryStore};

pub use reservations::{commit_reservation, get_reservation, release_reservation, reserve_stock};
pub use stock::{get_stock, list_stock};

/// Shared state.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: InventoryStore,
    /// How long a new reservation holds its stock.
    pub hold: Duration,
}

/// Everything an inventory handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A malformed id or query parameter (400, with its own code).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// A well-formed body that is not a valid reservation (422).
    #[error(transparent)]
    InvalidReservation(#[from] InvalidReservation),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AppError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, *code),
            AppError::InvalidReservation(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.code()),
            AppError::Inventory(e) => match e {
                InventoryError::UnknownProducts(_) => (StatusCode::NOT_FOUND, "unknown_product"),
                InventoryError::OutOfStock(_) => (StatusCode::CONFLICT, "out_of_stock"),
                InventoryError::Conflict(_) => (StatusCode::CONFLICT, "reservation_conflict"),
                InventoryError::Released(_) => (StatusCode::CONFLICT, "reservation_released"),
                InventoryError::Committed(_) => (StatusCode::CONFLICT, "reservation_committed"),
                InventoryError::NotFound(_) => (StatusCode::NOT_FOUND, "reservation_not_found"),
                InventoryError::Inconsistent(_) | InventoryError::Store(_) => {
                    // Logged once here, with the trace; the caller gets a stable code.
                    tracing::error!(error = %e, "inventory store failed");
                    return apiary_chassis::json_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal_error",
                        "the inventory could not complete the request; nothing was changed",
                    );
                }
            },
        };
        apiary_chassis::json_error(status, code, self.to_string())
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apiary inventory",
        description = "Stock levels and reservations. Every change is durable before it is answered."
    ),
    components(schemas(
        apiary_wire::shop::StockLevel,
        apiary_wire::shop::StockLevels,
        apiary_wire::shop::ReserveRequest,
        apiary_wire::shop::Reservation,
        apiary_wire::shop::ReservationStatus,
        apiary_wire::shop::LineItem,
        apiary_wire::ErrorBody,
        apiary_wire::ErrorDetail
    ))
)]
pub struct ApiDoc;

/// The API: each route and its OpenAPI operation declared once (utoipa-axum); the chassis
/// serves the document at `GET /openapi.json`.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(stock::list_stock))
        .routes(routes!(stock::get_stock))
        .routes(routes!(reservations::reserve_stock))
        .routes(routes!(reservations::get_reservation))
        .routes(routes!(reservations::commit_reservation))
        .routes(routes!(reservations::release_reservation))
        .with_state(state)
}
