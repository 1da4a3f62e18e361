//! The gateway's shopper API.

mod products;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;

use crate::clients::{CatalogClient, CatalogError};

pub use products::{get_product, list_products};

/// Shared state: the downstream clients.
#[derive(Debug, Clone)]
pub struct AppState {
    pub catalog: CatalogClient,
}

/// What a gateway handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::BadRequest(message) => {
                apiary_telemetry::json_error(StatusCode::BAD_REQUEST, "bad_request", message)
            }
            // The catalog's verdict on the shopper's input is relayed as it is.
            AppError::Catalog(CatalogError::Rejected { status, body }) => {
                let status =
                    StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_REQUEST);
                (status, Json(body)).into_response()
            }
            AppError::Catalog(err) => {
                // Logged once here, with the trace; the shopper gets a stable code.
                tracing::warn!(error = %err, "catalog call failed");
                let (status, code) = match err {
                    CatalogError::Unavailable(_) => {
                        (StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable")
                    }
                    CatalogError::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
                    _ => (StatusCode::BAD_GATEWAY, "upstream_error"),
                };
                apiary_telemetry::json_error(
                    status,
                    code,
                    "the catalog is not answering properly; try again shortly",
                )
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apiary gateway",
        description = "The shop's edge API for shoppers."
    ),
    paths(products::list_products, products::get_product),
    components(schemas(
        apiary_wire::Product,
        apiary_wire::ProductPage,
        apiary_wire::Money,
        apiary_wire::ErrorBody,
        apiary_wire::ErrorDetail
    ))
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/products", get(list_products))
        .route("/api/products/{id}", get(get_product))
        .with_state(state)
        .route("/openapi.json", get(openapi))
}
