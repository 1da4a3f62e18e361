//! The checkout API.

mod checkouts;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::clients::Clients;
use crate::compensation::Compensator;
use crate::saga::CheckoutError;

pub use checkouts::{compensations, create_checkout};

/// Shared state: the downstream clients and the background compensator.
#[derive(Debug, Clone)]
pub struct AppState {
    pub clients: Clients,
    pub compensator: Compensator,
}

/// What a checkout handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Our own validation of the request (422: the JSON is well formed, the values are not).
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Invalid(code, message) => {
                apiary_telemetry::json_error(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            AppError::Checkout(err) => match err {
                CheckoutError::CartEmpty => apiary_telemetry::json_error(
                    StatusCode::CONFLICT,
                    "cart_empty",
                    "the cart is empty; add something first",
                ),
                CheckoutError::ProductsUnavailable(_) => apiary_telemetry::json_error(
                    StatusCode::CONFLICT,
                    "product_unavailable",
                    err.to_string(),
                ),
                CheckoutError::Inconsistent(message) => {
                    tracing::error!(%message, "checkout stopped on inconsistent data");
                    apiary_telemetry::json_error(StatusCode::CONFLICT, "checkout_conflict", message)
                }
                // Refusals (out of stock, declined card, unserved country) are relayed as they
                // came: they are the verdict on the shopper's input. Broken peers are 502/503/504.
                CheckoutError::Step { error, .. } => error.into_relayed_response(),
            },
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apiary checkout",
        description = "Turns a cart into an order: reserve stock, quote shipping, charge, record; compensates on failure."
    ),
    paths(checkouts::create_checkout, checkouts::compensations),
    components(schemas(
        apiary_wire::shop::CheckoutRequest,
        apiary_wire::shop::CheckoutResult,
        apiary_wire::shop::CompensationStatus,
        apiary_wire::shop::ShippingAddress,
        apiary_wire::shop::Card,
        apiary_wire::shop::OrderLine,
        apiary_wire::Money,
        apiary_wire::ErrorBody,
        apiary_wire::ErrorDetail
    ))
)]
pub struct ApiDoc;

/// The API routes (operational routes and middleware are added by `standard_router`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/checkouts", post(create_checkout))
        .route("/compensations", get(compensations))
        .with_state(state)
        .merge(apiary_telemetry::openapi_route(ApiDoc::openapi()))
}
