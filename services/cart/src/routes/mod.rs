//! The cart's HTTP API.

mod carts;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::QuantityError;
use crate::store::{CartError, CartStore};

pub use carts::{add_item, delete_cart, get_cart, remove_item, set_quantity, stats};

/// Shared state: the cart store.
pub type AppState = Arc<CartStore>;

/// Everything a cart handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    InvalidCartId(String),
    #[error("{0}")]
    InvalidProductId(String),
    #[error(transparent)]
    Quantity(#[from] QuantityError),
    #[error(transparent)]
    Cart(#[from] CartError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AppError::InvalidCartId(_) => (StatusCode::BAD_REQUEST, "invalid_cart_id"),
            AppError::InvalidProductId(_) => (StatusCode::BAD_REQUEST, "invalid_product_id"),
            AppError::Quantity(QuantityError::Add(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_quantity")
            }
            AppError::Quantity(QuantityError::Set(_))
            | AppError::Cart(CartError::QuantityLimit { .. }) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "quantity_limit")
            }
            AppError::Cart(CartError::CartFull) => (StatusCode::UNPROCESSABLE_ENTITY, "cart_full"),
            AppError::Cart(CartError::LineNotFound { .. }) => {
                (StatusCode::NOT_FOUND, "line_not_found")
            }
        };
        apiary_chassis::json_error(status, code, self.to_string())
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apiary cart",
        description = "Shoppers' carts, in memory with a sliding time-to-live. A restart loses every cart."
    ),
    components(schemas(
        apiary_wire::shop::Cart,
        apiary_wire::shop::LineItem,
        apiary_wire::shop::SetQuantity,
        apiary_wire::shop::CartStats,
        apiary_wire::ErrorBody,
        apiary_wire::ErrorDetail
    ))
)]
pub struct ApiDoc;

/// The API: each route and its OpenAPI operation declared once (utoipa-axum); the chassis
/// serves the document at `GET /openapi.json`.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(carts::get_cart, carts::delete_cart))
        .routes(routes!(carts::add_item))
        .routes(routes!(carts::set_quantity, carts::remove_item))
        .routes(routes!(carts::stats))
        .with_state(state)
}

/// `at` (a monotonic instant) as milliseconds since the Unix epoch.
fn epoch_ms(at: Instant) -> i64 {
    let now = Instant::now();
    let wall_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    if at >= now {
        wall_now + at.duration_since(now).as_millis() as i64
    } else {
        wall_now - now.duration_since(at).as_millis() as i64
    }
}
