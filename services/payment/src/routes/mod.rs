//! The payment HTTP API.

mod charges;
mod ledger;
mod voids;

use std::sync::Arc;
use std::time::Duration;

use apiary_store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{CardError, DeclineReason};
use crate::store::{ChargeError, PaymentStore};

pub use charges::{create_charge, get_charge};
pub use ledger::ledger;
pub use voids::void_charge;

/// Shared state.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<PaymentStore>,
    /// The simulated provider's think time before each decision.
    pub latency: Duration,
}

/// Everything a payment handler can answer besides success. Messages never carry card data.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    InvalidBody(String),
    /// The rule alone: the key is not a secret, but it is arbitrary input, so the answer says
    /// what is wrong, not what was sent.
    #[error("{0}")]
    InvalidIdempotencyKey(String),
    #[error(transparent)]
    Card(CardError),
    #[error(transparent)]
    InvalidAmount(#[from] crate::domain::NotPositive),
    #[error("{}", .0.message())]
    Declined(DeclineReason),
    #[error("this idempotency key was already used for a different amount or card")]
    IdempotencyConflict,
    #[error("the charge for this idempotency key was voided; use a new key")]
    ChargeVoided,
    #[error("no charge with this id")]
    ChargeNotFound,
    #[error("status must be captured or voided")]
    InvalidStatus,
    #[error("after_seq must be a whole number, 0 or more")]
    InvalidCursor,
    #[error("limit must be a whole number from 1 to 1000")]
    InvalidLimit,
    #[error("the payment ledger is unavailable")]
    Store(#[from] StoreError),
}

impl From<ChargeError> for AppError {
    fn from(e: ChargeError) -> Self {
        match e {
            ChargeError::Conflict => AppError::IdempotencyConflict,
            ChargeError::Voided => AppError::ChargeVoided,
            ChargeError::Store(e) => AppError::Store(e),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AppError::InvalidBody(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            AppError::InvalidIdempotencyKey(_) => {
                (StatusCode::BAD_REQUEST, "invalid_idempotency_key")
            }
            AppError::Card(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.code()),
            AppError::InvalidAmount(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount"),
            AppError::Declined(reason) => (StatusCode::PAYMENT_REQUIRED, reason.code()),
            AppError::IdempotencyConflict => (StatusCode::CONFLICT, "idempotency_conflict"),
            AppError::ChargeVoided => (StatusCode::CONFLICT, "charge_voided"),
            AppError::ChargeNotFound => (StatusCode::NOT_FOUND, "charge_not_found"),
            AppError::InvalidStatus => (StatusCode::BAD_REQUEST, "invalid_status"),
            AppError::InvalidCursor => (StatusCode::BAD_REQUEST, "invalid_cursor"),
            AppError::InvalidLimit => (StatusCode::BAD_REQUEST, "invalid_limit"),
            AppError::Store(e) => {
                // Logged once, here, with the trace; the caller gets a stable code and treats
                // the charge's outcome as unknown (it voids by key).
                tracing::error!(error = %e, "payment ledger failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
        };
        apiary_chassis::json_error(status, code, self.to_string())
    }
}

/// Reads a JSON object into `T`. Arrays are refused (serde would read one positionally), and
/// a serde error message is repeated to the caller only when it cannot contain a value from
/// the body: serde quotes the offending value ("invalid type: integer `4242…`"), and in this
/// service that value can be a card number or a CVC.
pub(crate) fn from_object<T: serde::de::DeserializeOwned>(
    body: serde_json::Value,
    expected: &str,
) -> Result<T, AppError> {
    let generic = || AppError::InvalidBody(format!("the body must be a JSON object {expected}"));
    if !body.is_object() {
        return Err(generic());
    }
    serde_json::from_value(body).map_err(|err| {
        let text = err.to_string();
        if text.starts_with("missing field") {
            AppError::InvalidBody(format!("{text}; expected {expected}"))
        } else {
            generic()
        }
    })
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apiary payment",
        description = "A simulated payment provider: charges, voids, idempotency keys and the ledger. \
                       Test cards: 4242424242424242, 5555555555554444, 378282246310005 succeed; \
                       4000000000000002 card_declined, 4000000000009995 insufficient_funds, \
                       4000000000000069 expired_card, 4000000000000127 incorrect_cvc, \
                       4100000000000019 fraud_suspected."
    ),
    components(schemas(
        apiary_wire::shop::ChargeRequest,
        apiary_wire::shop::Card,
        apiary_wire::shop::Charge,
        apiary_wire::shop::ChargeStatus,
        apiary_wire::shop::VoidRequest,
        apiary_wire::shop::VoidOutcome,
        apiary_wire::shop::VoidResult,
        apiary_wire::shop::Ledger,
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
        .routes(routes!(charges::create_charge))
        .routes(routes!(charges::get_charge))
        .routes(routes!(voids::void_charge))
        .routes(routes!(ledger::ledger))
        .with_state(state)
}
