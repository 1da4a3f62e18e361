//! The recommendations HTTP API.

mod recommendations;

use std::sync::{Arc, RwLock};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::Model;

pub use recommendations::recommend;

/// Shared state: the model (written only by the learner).
pub type AppState = Arc<RwLock<Model>>;

/// Everything a recommendations handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    InvalidProductId(String),
    #[error(transparent)]
    InvalidLimit(#[from] apiary_wire::ids::InvalidLimit),
    #[error("no product with id {0}")]
    UnknownProduct(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AppError::InvalidProductId(_) => (StatusCode::BAD_REQUEST, "invalid_product_id"),
            AppError::InvalidLimit(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit"),
            AppError::UnknownProduct(_) => (StatusCode::NOT_FOUND, "unknown_product"),
        };
        apiary_chassis::json_error(status, code, self.to_string())
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apiary recommendations",
        description = "Products bought together (learned from the orders feed), or similar products."
    ),
    components(schemas(
        apiary_wire::shop::Recommendations,
        apiary_wire::shop::Recommendation,
        apiary_wire::ErrorBody,
        apiary_wire::ErrorDetail
    ))
)]
pub struct ApiDoc;

/// The API: each route and its OpenAPI operation declared once (utoipa-axum); the chassis
/// serves the document at `GET /openapi.json`.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(recommendations::recommend))
        .with_state(state)
}
