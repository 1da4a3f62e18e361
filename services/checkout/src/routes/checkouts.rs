//! `POST /checkouts`, `GET /checkouts/{checkout_id}` and `GET /compensations`.

use std::time::Duration;

use apiary_chassis::extract::Json;
use apiary_chassis::resilience;
use apiary_wire::shop::{CheckoutRequest, CheckoutResult, CheckoutStatus, CompensationStatus};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::{AppError, AppState};
use crate::answer::{self, Answer};
use crate::domain::{CartId, CheckoutId, Country};
use crate::saga::CheckoutCommand;

/// How long a request waits for its saga when it carries no deadline of its own (the server's
/// request timeout bounds it anyway).
const DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// Runs the checkout saga for a cart, once per checkout id.
#[utoipa::path(
    post,
    path = "/checkouts",
    request_body = CheckoutRequest,
    responses(
        (status = 201, body = CheckoutResult, description = "order placed"),
        (status = 200, body = CheckoutResult, description = "this checkout id placed its order before"),
        (status = 202, body = CheckoutStatus, description = "not finished within the request's deadline (state running), or charged with the order's recording being finished (state pending); ask status_url", headers(("location" = String, description = "the status URL"))),
        (status = 402, body = apiary_wire::ErrorBody, description = "card declined (code is the reason)"),
        (status = 409, body = apiary_wire::ErrorBody, description = "cart_empty, out_of_stock, product_unavailable, idempotency_key_reused (the id was used for another cart), checkout_interrupted (checkout restarted mid-saga and undid it)"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid ids, card or address"),
        (status = 502, body = apiary_wire::ErrorBody),
        (status = 503, body = apiary_wire::ErrorBody),
        (status = 504, body = apiary_wire::ErrorBody),
    )
)]
pub async fn create_checkout(
    State(state): State<AppState>,
    Json(req): Json<CheckoutRequest>,
) -> Result<Response, AppError> {
    let cmd = CheckoutCommand {
        // The rule alone: these answers never repeat the input.
        id: CheckoutId::parse(&req.checkout_id)
            .map_err(|e| AppError::Invalid("invalid_checkout_id", e.rule()))?,
        cart_id: CartId::parse(&req.cart_id)
            .map_err(|e| AppError::Invalid("invalid_cart_id", e.rule()))?,
        country: Country::parse(&req.shipping.country)
            .map_err(|e| AppError::Invalid("invalid_country", e.to_string()))?,
        // The card is checked by payment, its only reader; it is never logged or stored here
        // (its Debug is redacted).
        card: req.card,
    };
    // Answer before the caller gives up: our deadline less a margin to get the answer out.
    let budget = resilience::remaining().unwrap_or(DEFAULT_WAIT);
    let until = Instant::now() + budget.saturating_sub(resilience::answer_margin(budget));
    Ok(respond(state.runner.submit(cmd, until).await))
}

fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let location = (status == StatusCode::ACCEPTED)
        .then(|| answer.body.get("status_url").and_then(|u| u.as_str()))
        .flatten()
        .and_then(|u| HeaderValue::from_str(u).ok());
    let mut response = (status, axum::Json(answer.body)).into_response();
    if let Some(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Where a checkout stands, with its saga log.
#[utoipa::path(
    get,
    path = "/checkouts/{checkout_id}",
    params(("checkout_id" = apiary_wire::ids::TokenId, Path, description = "1-64 of A-Za-z0-9_-")),
    responses(
        (status = 200, body = CheckoutStatus),
        (status = 404, body = apiary_wire::ErrorBody, description = "checkout_not_found"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid_checkout_id"),
        (status = 503, body = apiary_wire::ErrorBody, description = "the saga log cannot be read"),
    )
)]
pub async fn checkout_status(
    State(state): State<AppState>,
    Path(checkout_id): Path<String>,
) -> Result<axum::Json<CheckoutStatus>, AppError> {
    let id = CheckoutId::parse(&checkout_id)
        .map_err(|e| AppError::Invalid("invalid_checkout_id", e.rule()))?;
    let (saga, log) = state
        .store
        .get(id.as_str())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(axum::Json(answer::status_view(
        id.as_str(),
        saga.state,
        saga.answer.as_ref(),
        log,
    )))
}

/// Saga clean-up not finished yet: owed compensation tasks plus checkouts still running or
/// pending. Zero means every checkout has reached its end.
#[utoipa::path(
    get,
    path = "/compensations",
    responses(
        (status = 200, body = CompensationStatus),
        (status = 503, body = apiary_wire::ErrorBody, description = "the saga log cannot be read"),
    )
)]
pub async fn compensations(
    State(state): State<AppState>,
) -> Result<axum::Json<CompensationStatus>, AppError> {
    Ok(axum::Json(CompensationStatus {
        pending: state.store.unfinished().await?,
        completed_total: state.runner.compensator().completed(),
    }))
}
