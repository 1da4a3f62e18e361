//! The server-rendered HTML shop: links and forms only, no JavaScript, usable in a text
//! browser. Every page shows its trace id in the footer.
//!
//! - [`layout`] — the page shell and formatting; [`pages`] — each page as a pure function.
//! - [`session`] — the `apiary_cart` cookie; [`guard`] — cross-site POSTs are refused (403).
//! - `handlers` — one per route; the use cases themselves are in [`crate::storefront`].

pub mod guard;
mod handlers;
pub mod layout;
pub mod pages;
pub mod session;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::routes::AppState;
use crate::storefront::ShopError;

/// An HTML error page with its status.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl From<ShopError> for PageError {
    fn from(err: ShopError) -> Self {
        let (status, _, message) = answer_logged(&err);
        Self { status, message }
    }
}

impl From<crate::domain::InvalidInput> for PageError {
    fn from(err: crate::domain::InvalidInput) -> Self {
        ShopError::from(err).into()
    }
}

/// [`ShopError::answer`], logging a failing downstream once (its 4xx verdicts are the shopper's
/// business, not an incident).
fn answer_logged(err: &ShopError) -> (StatusCode, String, String) {
    if let ShopError::Downstream(e) = err
        && e.rejected_status().is_none()
    {
        tracing::warn!(error = %e, peer = e.peer(), "downstream call failed");
    }
    err.answer()
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        render(
            self.status,
            pages::error(self.status.as_u16(), &self.message),
        )
    }
}

fn render(status: StatusCode, markup: maud::Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// The HTML routes. State-changing POSTs pass the same-origin guard first.
pub fn router(state: AppState) -> Router {
    let posts = Router::new()
        .route("/shop/cart/add", post(handlers::add_to_cart))
        .route("/shop/cart/update", post(handlers::update_cart))
        .route("/shop/checkout", post(handlers::checkout))
        .route_layer(axum::middleware::from_fn(guard::same_origin_only));
    Router::new()
        .route("/", get(handlers::home))
        .route("/shop/category/{name}", get(handlers::category))
        .route("/shop/search", get(handlers::search))
        .route("/shop/products/{id}", get(handlers::product))
        .route("/shop/cart", get(handlers::cart))
        .route("/shop/orders/{order_id}", get(handlers::order))
        .merge(posts)
        // Unknown shop pages get an HTML 404 (the API's fallback answers JSON).
        .route("/shop/{*rest}", get(handlers::not_found))
        .with_state(state)
}
