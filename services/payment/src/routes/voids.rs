//! `POST /voids`.

use apiary_chassis::extract::Json;
use apiary_wire::shop::{VoidOutcome, VoidRequest, VoidResult};
use axum::extract::State;

use super::{AppError, AppState, from_object};
use crate::domain::IdempotencyKey;
use crate::metrics;

/// Voids the charge made with a key (a refund before settlement). Idempotent. When the key
/// has no capture — never seen, or declined — it is tombstoned: a charge with it arriving
/// later is refused with 409 `charge_voided`. This is what makes "the charge call timed out,
/// cancel it" safe for the caller.
#[utoipa::path(
    post,
    path = "/voids",
    request_body = VoidRequest,
    responses(
        (status = 200, body = VoidResult, description = "voided, already_voided or nothing_to_void"),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_idempotency_key"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid_body"),
    )
)]
pub async fn void_charge(
    State(state): State<AppState>,
    Json(body): Json<serde_json::Value>,
) -> Result<axum::Json<VoidResult>, AppError> {
    let request: VoidRequest = from_object(body, "{idempotency_key}")?;
    let key = IdempotencyKey::parse(&request.idempotency_key)
        .map_err(|e| AppError::InvalidIdempotencyKey(e.rule()))?;
    let (result, voided_now) = state.store.void(key, apiary_store::now_ms()).await?;
    if let Some(charge) = &voided_now {
        metrics::voided(charge);
    }
    if result.outcome != VoidOutcome::AlreadyVoided {
        tracing::info!(
            idempotency_key = %result.idempotency_key,
            outcome = ?result.outcome,
            charge_id = result.charge_id.as_deref().unwrap_or(""),
            "void"
        );
    }
    Ok(axum::Json(result))
}
