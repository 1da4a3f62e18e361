//! The cart's HTTP API.

mod carts;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;

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
    #[error("{0}")]
    InvalidQuantity(String),
    #[error("{0}")]
    QuantityLimit(String),
    #[error(transparent)]
    Cart(#[from] CartError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AppError::InvalidCartId(_) => (StatusCode::BAD_REQUEST, "invalid_cart_id"),
            AppError::InvalidProductId(_) => (StatusCode::BAD_REQUEST, "invalid_product_id"),
            AppError::InvalidQuantity(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_quantity"),
            AppError::QuantityLimit(_) | AppError::Cart(CartError::QuantityLimit { .. }) => {
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
    paths(
        carts::get_cart,
        carts::add_item,
        carts::set_quantity,
        carts::remove_item,
        carts::delete_cart,
        carts::stats
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

/// The API routes (operational routes and middleware are added by `standard_router`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/carts/stats", get(stats))
        .route("/carts/{cart_id}", get(get_cart).delete(delete_cart))
        .route("/carts/{cart_id}/items", axum::routing::post(add_item))
        .route(
            "/carts/{cart_id}/items/{product_id}",
            axum::routing::put(set_quantity).delete(remove_item),
        )
        .with_state(state)
        .merge(apiary_chassis::openapi_route(ApiDoc::openapi()))
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
