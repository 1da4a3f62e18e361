//! The orders service's HTTP API.

mod orders;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::InvalidOrder;
use crate::store::{OrderStore, OrdersError};

pub use orders::{get_order, order_feed, order_summary, place_order};

/// Shared state: the store, and the outbox relay's doorbell (rung after each new order).
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: OrderStore,
    pub relay: std::sync::Arc<tokio::sync::Notify>,
}

impl AppState {
    pub fn new(store: OrderStore) -> Self {
        Self {
            store,
            relay: std::sync::Arc::default(),
        }
    }
}

/// Everything an orders handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A malformed id or query parameter (400, with its own code).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// A well-formed body that is not a valid order (422).
    #[error(transparent)]
    InvalidOrder(#[from] InvalidOrder),
    #[error("no order with id {0}")]
    NotFound(String),
    #[error(transparent)]
    Orders(#[from] OrdersError),
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
            AppError::InvalidOrder(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.code),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "order_not_found"),
            AppError::Orders(OrdersError::Conflict(_)) => (StatusCode::CONFLICT, "order_conflict"),
            AppError::Orders(e) => {
                // Logged once here, with the trace; the caller gets a stable code.
                tracing::error!(error = %e, "orders store failed");
                return apiary_chassis::json_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "the order store could not complete the request",
                );
            }
        };
        apiary_chassis::json_error(status, code, self.to_string())
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apiary orders",
        description = "Order history and revenue: the shop's business source of truth. Every order is durable before it is answered."
    ),
    components(schemas(
        apiary_wire::shop::NewOrder,
        apiary_wire::shop::Order,
        apiary_wire::shop::OrderLine,
        apiary_wire::shop::OrderFeed,
        apiary_wire::shop::OrderSummary,
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
        .routes(routes!(orders::order_feed, orders::place_order))
        .routes(routes!(orders::order_summary))
        .routes(routes!(orders::get_order))
        .with_state(state)
}
