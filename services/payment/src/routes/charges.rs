//! `POST /charges` and `GET /charges/{charge_id}`.

use apiary_chassis::extract::{Json, Path};
use apiary_wire::Money;
use apiary_wire::shop::{Charge, ChargeRequest};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{AppError, AppState, from_object};
use crate::domain::{ChargeAmount, IdempotencyKey, ValidCard, YearMonth, decide};
use crate::metrics;
use crate::store::{Answer, ChargeAttempt, Recorded};

/// The wire [`ChargeRequest`] read leniently: wide integers for the expiry, so `13` or `300`
/// is `invalid_expiry` rather than a shape error, and no `Debug`, so the number and CVC cannot
/// be printed.
#[derive(Deserialize)]
struct ChargeBody {
    idempotency_key: String,
    amount: Money,
    card: CardBody,
}

#[derive(Deserialize)]
struct CardBody {
    number: String,
    expiry_month: i64,
    expiry_year: i64,
    cvc: String,
}

const EXPECTED: &str = "{idempotency_key, amount: {amount_minor, currency}, \
                        card: {number, expiry_month, expiry_year, cvc}}";

/// Charges a card. The first request with a key is decided and recorded (201 captured, or 402
/// with the decline reason); the same request again replays that answer (200, or the same
/// 402); the key with another amount or card is 409 `idempotency_conflict`; a voided key is
/// 409 `charge_voided`.
#[utoipa::path(
    post,
    path = "/charges",
    request_body = ChargeRequest,
    responses(
        (status = 201, body = Charge, description = "captured now"),
        (status = 200, body = Charge, description = "replay of the key's capture"),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_idempotency_key"),
        (status = 402, body = apiary_wire::ErrorBody, description = "declined: card_declined, insufficient_funds, expired_card, incorrect_cvc, fraud_suspected, amount_limit_exceeded"),
        (status = 409, body = apiary_wire::ErrorBody, description = "idempotency_conflict or charge_voided"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid_card_number, invalid_expiry, invalid_cvc, invalid_amount, invalid_body"),
    )
)]
pub async fn create_charge(
    State(state): State<AppState>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let body: ChargeBody = from_object(body, EXPECTED)?;
    let key = IdempotencyKey::parse(&body.idempotency_key)
        .map_err(|e| AppError::InvalidIdempotencyKey(e.rule()))?;
    let card = ValidCard::parse(
        &body.card.number,
        body.card.expiry_month,
        body.card.expiry_year,
        &body.card.cvc,
    )
    .map_err(|e| {
        metrics::failure(e.code());
        tracing::info!(reason = e.code(), idempotency_key = %key, "malformed card");
        AppError::Card(e)
    })?;
    // The targeted-failure fault: the issuer of one BIN range is down. The first six digits
    // (the BIN, not secret) are the only part of the number the fault sees; nothing is recorded.
    let bin: String = card.number.digits().chars().take(6).collect();
    if apiary_chassis::faults::card_fails(&bin).await {
        metrics::failure("issuer_unavailable");
        tracing::warn!(
            card_brand = card.number.brand().as_str(),
            "injected fault: card issuer unavailable"
        );
        return Ok(apiary_chassis::json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "issuer_unavailable",
            "the card issuer did not answer; no charge was made",
        ));
    }
    // The number and CVC end their life here: only brand and last four go further.
    drop(body.card);
    let amount = ChargeAmount::parse(body.amount)?;

    // The "provider" thinks before deciding; a drill stretches this.
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    let attempt = ChargeAttempt {
        verdict: decide(&card, amount, YearMonth::now()),
        brand: card.number.brand(),
        last4: card.number.last4(),
        key,
        amount: amount.money(),
        new_charge_id: format!("ch_{}", uuid::Uuid::new_v4()),
        now_ms: apiary_store::now_ms(),
    };
    drop(card);
    let key = attempt.key.clone();
    match state.store.charge(attempt).await? {
        Recorded::New(Answer::Captured(charge)) => {
            metrics::captured(&charge);
            tracing::info!(
                charge_id = %charge.charge_id,
                idempotency_key = %key,
                card_brand = %charge.card_brand,
                amount_minor = charge.amount.amount_minor,
                currency = charge.amount.currency.as_str(),
                "charge captured"
            );
            Ok((StatusCode::CREATED, axum::Json(charge)).into_response())
        }
        Recorded::New(Answer::Declined(reason)) => {
            metrics::failure(reason.code());
            tracing::info!(reason = reason.code(), idempotency_key = %key, "charge declined");
            Err(AppError::Declined(reason))
        }
        Recorded::Replay(Answer::Captured(charge)) => {
            tracing::debug!(charge_id = %charge.charge_id, "charge replayed");
            Ok((StatusCode::OK, axum::Json(charge)).into_response())
        }
        Recorded::Replay(Answer::Declined(reason)) => Err(AppError::Declined(reason)),
    }
}

/// One charge by id.
#[utoipa::path(
    get,
    path = "/charges/{charge_id}",
    params(("charge_id" = apiary_wire::ids::TokenId, Path, description = "e.g. ch_0b7c…")),
    responses(
        (status = 200, body = Charge),
        (status = 404, body = apiary_wire::ErrorBody, description = "charge_not_found"),
    )
)]
pub async fn get_charge(
    State(state): State<AppState>,
    Path(charge_id): Path<String>,
) -> Result<axum::Json<Charge>, AppError> {
    // Ids are "ch_" + a UUID; anything much longer cannot be one, so skip the lookup.
    if charge_id.len() > 64 {
        return Err(AppError::ChargeNotFound);
    }
    state
        .store
        .get_charge(charge_id)
        .await?
        .map(axum::Json)
        .ok_or(AppError::ChargeNotFound)
}
