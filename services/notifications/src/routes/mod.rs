//! The notifications service's HTTP API.

mod notifications;

use apiary_store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::store::NotificationStore;

pub use notifications::list_notifications;

/// Shared state: the store.
pub type AppState = NotificationStore;

/// Everything a notifications handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    InvalidOrderId(apiary_wire::ids::InvalidId),
    #[error(transparent)]
    InvalidLimit(#[from] apiary_wire::ids::InvalidLimit),
    #[error("the notification store is unavailable")]
    Store(#[from] StoreError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AppError::InvalidOrderId(_) => (StatusCode::BAD_REQUEST, "invalid_order_id"),
            AppError::InvalidLimit(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit"),
            AppError::Store(e) => {
                tracing::error!(error = %e, "notification store failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
        };
        apiary_chassis::json_error(status, code, self.to_string())
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apiary notifications",
        description = "Order confirmations rendered from order.placed events (AMQP)."
    ),
    components(schemas(
        apiary_wire::shop::Notification,
        apiary_wire::shop::NotificationList,
        apiary_wire::ErrorBody,
        apiary_wire::ErrorDetail
    ))
)]
pub struct ApiDoc;

/// The API: each route and its OpenAPI operation declared once (utoipa-axum); the chassis
/// serves the document at `GET /openapi.json`.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(notifications::list_notifications))
        .with_state(state)
}
