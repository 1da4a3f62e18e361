//! The reviews HTTP API.

mod reviews;

use std::collections::HashSet;
use std::sync::Arc;

use apiary_store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{ProductId, ReviewError};
use crate::store::ReviewStore;

pub use reviews::{list_reviews, post_review};

/// Shared state.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<ReviewStore>,
    /// The ids of the shop's products (from the seed): reviews exist only for these.
    pub products: Arc<HashSet<String>>,
}

impl AppState {
    /// The product, if it is well formed (400) and the shop sells it (404).
    fn known_product(&self, raw: &str) -> Result<ProductId, AppError> {
        let id = ProductId::parse(raw).map_err(|e| AppError::InvalidProductId(e.rule()))?;
        if self.products.contains(id.as_str()) {
            Ok(id)
        } else {
            Err(AppError::UnknownProduct(id))
        }
    }
}

/// Everything a reviews handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    InvalidProductId(String),
    #[error("no product with id {0}")]
    UnknownProduct(ProductId),
    #[error(transparent)]
    InvalidLimit(#[from] apiary_wire::ids::InvalidLimit),
    #[error(transparent)]
    InvalidReview(ReviewError),
    #[error("the body must be a JSON object {{rating, author, title, body}}")]
    InvalidShape,
    #[error("the review store is unavailable")]
    Store(#[from] StoreError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AppError::InvalidProductId(_) => (StatusCode::BAD_REQUEST, "invalid_product_id"),
            AppError::UnknownProduct(_) => (StatusCode::NOT_FOUND, "unknown_product"),
            AppError::InvalidLimit(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit"),
            AppError::InvalidReview(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.code()),
            AppError::InvalidShape => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_review"),
            AppError::Store(e) => {
                // Logged once, here, with the trace.
                tracing::error!(error = %e, "review store failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
        };
        apiary_chassis::json_error(status, code, self.to_string())
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Apiary reviews", description = "Product reviews and ratings."),
    components(schemas(
        apiary_wire::shop::Review,
        apiary_wire::shop::ProductReviews,
        apiary_wire::shop::NewReview,
        apiary_wire::ErrorBody,
        apiary_wire::ErrorDetail
    ))
)]
pub struct ApiDoc;

/// The API: each route and its OpenAPI operation declared once (utoipa-axum); the chassis
/// serves the document at `GET /openapi.json`.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(reviews::list_reviews, reviews::post_review))
        .with_state(state)
}
