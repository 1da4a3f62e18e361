//! The checkout API.

mod checkouts;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::runner::SagaRunner;
use crate::store::{SagaStore, SagaStoreError};

pub use checkouts::{checkout_status, compensations, create_checkout};

/// Shared state: the saga runner and the saga store it writes.
#[derive(Debug, Clone)]
pub struct AppState {
    pub runner: SagaRunner,
    pub store: SagaStore,
}

/// What a checkout handler can answer besides its saga's answer.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Our own validation of the request (422: the JSON is well formed, the values are not).
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error("no such checkout")]
    NotFound,
    #[error(transparent)]
    Store(#[from] SagaStoreError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Invalid(code, message) => {
                apiary_chassis::json_error(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            AppError::NotFound => apiary_chassis::json_error(
                StatusCode::NOT_FOUND,
                "checkout_not_found",
                "no checkout with this id",
            ),
            AppError::Store(e) => {
                tracing::error!(error = %e, "the saga log cannot be read");
                apiary_chassis::json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "saga_log_unavailable",
                    "checkout cannot read its saga log right now; try again shortly",
                )
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apiary checkout",
        description = "Turns a cart into an order: reserve stock, quote shipping, charge, record; compensates on failure."
    ),
    components(schemas(
        apiary_wire::shop::CheckoutRequest,
        apiary_wire::shop::CheckoutResult,
        apiary_wire::shop::CompensationStatus,
        apiary_wire::shop::CheckoutStatus,
        apiary_wire::shop::SagaState,
        apiary_wire::shop::SagaLogEntry,
        apiary_wire::shop::ShippingAddress,
        apiary_wire::shop::Card,
        apiary_wire::shop::OrderLine,
        apiary_wire::Money,
        apiary_wire::ErrorBody,
        apiary_wire::ErrorDetail
    ))
)]
pub struct ApiDoc;

/// The API: each route and its OpenAPI operation declared once (utoipa-axum); the chassis
/// serves the document at `GET /openapi.json`.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(checkouts::create_checkout))
        .routes(routes!(checkouts::checkout_status))
        .routes(routes!(checkouts::compensations))
        .with_state(state)
}
