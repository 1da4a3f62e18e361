//! `POST /checkouts` and `GET /compensations`.

use apiary_telemetry::extract::Json;
use apiary_wire::shop::{CheckoutRequest, CheckoutResult, CompensationStatus};
use axum::extract::State;
use axum::http::StatusCode;

use super::{AppError, AppState};
use crate::domain::{CartId, CheckoutId, Country};
use crate::saga::{self, CheckoutCommand, Outcome};

/// Runs the checkout saga for a cart.
#[utoipa::path(
    post,
    path = "/checkouts",
    request_body = CheckoutRequest,
    responses(
        (status = 201, body = CheckoutResult, description = "order placed"),
        (status = 200, body = CheckoutResult, description = "this checkout id placed its order before"),
        (status = 202, body = CheckoutResult, description = "charged; the order is being recorded (status pending)"),
        (status = 402, body = apiary_wire::ErrorBody, description = "card declined (code is the reason)"),
        (status = 409, body = apiary_wire::ErrorBody, description = "cart_empty, out_of_stock, product_unavailable"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid ids, card or address"),
        (status = 502, body = apiary_wire::ErrorBody),
        (status = 503, body = apiary_wire::ErrorBody),
        (status = 504, body = apiary_wire::ErrorBody),
    )
)]
pub async fn create_checkout(
    State(state): State<AppState>,
    Json(req): Json<CheckoutRequest>,
) -> Result<(StatusCode, axum::Json<CheckoutResult>), AppError> {
    let cmd = CheckoutCommand {
        // The rule alone: these answers never repeat the input.
        id: CheckoutId::parse(&req.checkout_id)
            .map_err(|e| AppError::Invalid("invalid_checkout_id", e.rule()))?,
        cart_id: CartId::parse(&req.cart_id)
            .map_err(|e| AppError::Invalid("invalid_cart_id", e.rule()))?,
        country: Country::parse(&req.shipping.country)
            .map_err(|m| AppError::Invalid("invalid_country", m))?,
        // The card is checked by payment, its only reader; it is never logged here (its Debug
        // is redacted).
        card: req.card,
    };
    let outcome = saga::run(&state.clients, &state.compensator, cmd).await?;
    Ok(match outcome {
        Outcome::Placed(r) => (StatusCode::CREATED, axum::Json(r)),
        Outcome::Replayed(r) => (StatusCode::OK, axum::Json(r)),
        Outcome::Pending(r) => (StatusCode::ACCEPTED, axum::Json(r)),
    })
}

/// Saga clean-up still being retried in the background.
#[utoipa::path(get, path = "/compensations", responses((status = 200, body = CompensationStatus)))]
pub async fn compensations(State(state): State<AppState>) -> axum::Json<CompensationStatus> {
    axum::Json(CompensationStatus {
        pending: state.compensator.pending(),
        completed_total: state.compensator.completed(),
    })
}
