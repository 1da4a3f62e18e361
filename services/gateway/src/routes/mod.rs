//! The gateway's shopper JSON API (`/api/...`), documented at `/openapi.json`.

mod carts;
mod checkout;
mod orders;
mod products;

use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use apiary_chassis::DownstreamError;

use crate::clients::Clients;
use crate::domain::InvalidInput;
use crate::storefront::ShopError;

/// Shared state: the downstream clients.
#[derive(Debug, Clone)]
pub struct AppState {
    pub clients: Clients,
}

/// What a JSON handler answers besides success: the standard error body, with the status of
/// [`ShopError::answer`]; a failing downstream is relayed by the telemetry crate's rule (4xx as
/// it came, else 502/503/504, logged once there).
#[derive(Debug)]
pub struct AppError(pub ShopError);

impl From<ShopError> for AppError {
    fn from(err: ShopError) -> Self {
        AppError(err)
    }
}

impl From<InvalidInput> for AppError {
    fn from(err: InvalidInput) -> Self {
        AppError(err.into())
    }
}

impl From<DownstreamError> for AppError {
    fn from(err: DownstreamError) -> Self {
        AppError(err.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self.0 {
            ShopError::Downstream(err) => err.into_relayed_response(),
            own => {
                let (status, code, message) = own.answer();
                apiary_chassis::json_error(status, &code, message)
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apiary gateway",
        description = "The shop's edge API for shoppers. Every error is the JSON error body \
            `{\"error\": {\"code\", \"message\"}}`: 4xx for the shopper's input (a downstream's \
            verdict relayed as it came), 502 `upstream_error`, 503 `upstream_unavailable`, 504 \
            `upstream_timeout` when a required service fails."
    ),
    components(schemas(
        apiary_wire::Product,
        apiary_wire::ProductPage,
        apiary_wire::Money,
        apiary_wire::CategoryCount,
        apiary_wire::ErrorBody,
        apiary_wire::ErrorDetail,
        apiary_wire::shop::Review,
        apiary_wire::shop::LineItem,
        apiary_wire::shop::Card,
        apiary_wire::shop::ShippingAddress,
        apiary_wire::shop::CheckoutResult,
        apiary_wire::shop::CheckoutStatus,
        apiary_wire::shop::SagaState,
        apiary_wire::shop::SagaLogEntry,
        apiary_wire::shop::OrderLine,
        apiary_wire::shop::Order,
        crate::storefront::ProductPageView,
        crate::storefront::StockView,
        crate::storefront::ReviewsView,
        crate::storefront::RecommendationsView,
        crate::storefront::CategoriesView,
        crate::storefront::NewCartView,
        crate::storefront::CartView,
        crate::storefront::CartLineView,
        crate::storefront::AddItemBody,
        crate::storefront::SetQuantityBody,
        crate::storefront::CheckoutBody,
    ))
)]
pub struct ApiDoc;

/// The API: each route and its OpenAPI operation declared once (utoipa-axum); the chassis
/// serves the document at `GET /openapi.json`.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(products::list_categories))
        .routes(routes!(products::list_products))
        .routes(routes!(products::get_product))
        .routes(routes!(carts::create_cart))
        .routes(routes!(carts::get_cart))
        .routes(routes!(carts::add_item))
        .routes(routes!(carts::set_item_quantity, carts::remove_item))
        .routes(routes!(checkout::checkout))
        .routes(routes!(checkout::checkout_status))
        .routes(routes!(orders::get_order))
        .with_state(state)
}
