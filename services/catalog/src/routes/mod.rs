//! The catalog's HTTP API.

mod products;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::store::ProductStore;

pub use products::{get_product, list_categories, list_products};

/// Shared state: the read-only store.
pub type AppState = Arc<ProductStore>;

/// Everything a catalog handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Query(#[from] crate::domain::QueryError),
    #[error("no product with id {0}")]
    ProductNotFound(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AppError::BadRequest(_) | AppError::Query(_) => {
                (StatusCode::BAD_REQUEST, "bad_request")
            }
            AppError::ProductNotFound(_) => (StatusCode::NOT_FOUND, "unknown_product"),
        };
        apiary_chassis::json_error(status, code, self.to_string())
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apiary catalog",
        description = "Products (books, music, video), prices and search."
    ),
    components(schemas(
        apiary_wire::Product,
        apiary_wire::ProductPage,
        apiary_wire::CategoryList,
        apiary_wire::CategoryCount,
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
        .routes(routes!(products::list_products))
        .routes(routes!(products::get_product))
        .routes(routes!(products::list_categories))
        .with_state(state)
}
