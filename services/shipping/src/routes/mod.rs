//! The shipping service's HTTP API.

mod quotes;
mod shipments;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{DestinationError, ParcelError};
use crate::shipments::ShipmentStore;
use crate::store::QuoteStore;

pub use quotes::{create_quote, get_quote};
pub use shipments::{get_shipment, shipment_summary};

/// Shared state: the quote store and the shipments.
#[derive(Debug, Clone)]
pub struct AppState {
    pub quotes: Arc<QuoteStore>,
    pub shipments: ShipmentStore,
}

/// Everything a shipping handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Destination(#[from] DestinationError),
    #[error(transparent)]
    Parcel(#[from] ParcelError),
    #[error("no quote with id {0}")]
    QuoteNotFound(String),
    #[error("quote {0} has expired; ask for a new one")]
    QuoteExpired(String),
    #[error(transparent)]
    InvalidOrderId(apiary_wire::ids::InvalidId),
    #[error("no shipment for order {0} (yet)")]
    ShipmentNotFound(String),
    #[error("the shipment store is unavailable")]
    Store(#[from] apiary_store::StoreError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        let (status, code) = match &self {
            AppError::Destination(DestinationError::Malformed(_)) => {
                (unprocessable, "invalid_country")
            }
            AppError::Destination(DestinationError::Unsupported(_)) => {
                (unprocessable, "unsupported_destination")
            }
            AppError::Parcel(ParcelError::InvalidProductId(_)) => {
                (StatusCode::BAD_REQUEST, "invalid_product_id")
            }
            AppError::Parcel(ParcelError::LineCount(_)) => (unprocessable, "invalid_items"),
            AppError::Parcel(ParcelError::Quantity { .. }) => (unprocessable, "invalid_quantity"),
            AppError::QuoteNotFound(_) => (StatusCode::NOT_FOUND, "quote_not_found"),
            AppError::QuoteExpired(_) => (StatusCode::GONE, "quote_expired"),
            AppError::InvalidOrderId(_) => (StatusCode::BAD_REQUEST, "invalid_order_id"),
            AppError::ShipmentNotFound(_) => (StatusCode::NOT_FOUND, "shipment_not_found"),
            AppError::Store(e) => {
                tracing::error!(error = %e, "shipment store failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
        };
        apiary_chassis::json_error(status, code, self.to_string())
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apiary shipping",
        description = "Shipping quotes (price, carrier and delivery estimate by destination) and the shipment of every placed order."
    ),
    components(schemas(
        apiary_wire::shop::QuoteRequest,
        apiary_wire::shop::Quote,
        apiary_wire::shop::Shipment,
        apiary_wire::shop::ShipmentSummary,
        apiary_wire::shop::LineItem,
        apiary_wire::Money,
        apiary_wire::ErrorBody,
        apiary_wire::ErrorDetail
    )),
    modifiers(&ServedCountries)
)]
pub struct ApiDoc;

/// States the countries shipping serves as the `enum` of `QuoteRequest.country`, from the
/// same list the service checks (any other well-formed code is 422 `unsupported_destination`).
struct ServedCountries;

impl utoipa::Modify for ServedCountries {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::Schema;
        let Some(components) = doc.components.as_mut() else {
            return;
        };
        let Some(RefOr::T(Schema::Object(request))) = components.schemas.get_mut("QuoteRequest")
        else {
            return;
        };
        if let Some(RefOr::T(Schema::Object(country))) = request.properties.get_mut("country") {
            country.enum_values = Some(
                crate::domain::Destination::served()
                    .map(serde_json::Value::from)
                    .collect(),
            );
        }
    }
}

/// The API: each route and its OpenAPI operation declared once (utoipa-axum); the chassis
/// serves the document at `GET /openapi.json`.
pub fn api(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(quotes::create_quote))
        .routes(routes!(quotes::get_quote))
        .routes(routes!(shipments::shipment_summary))
        .routes(routes!(shipments::get_shipment))
        .with_state(state)
}
