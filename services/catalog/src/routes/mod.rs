//! The catalog's HTTP API.

mod products;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use utoipa::OpenApi;

use crate::store::ProductStore;

pub use products::{get_product, list_categories, list_products};

/// Shared state: the read-only store.
pub type AppState = Arc<ProductStore>;

/// Everything a catalog handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no product with id {0}")]
    ProductNotFound(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
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
    paths(
        products::list_products,
        products::get_product,
        products::list_categories
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

/// The API routes (operational routes and middleware are added by `standard_router`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/products", get(list_products))
        .route("/products/{id}", get(get_product))
        .route("/categories", get(list_categories))
        .with_state(state)
        .merge(apiary_chassis::openapi_route(ApiDoc::openapi()))
}
