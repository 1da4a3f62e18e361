//! `GET /ledger`.

use std::collections::HashMap;

use apiary_telemetry::extract::Query;
use apiary_wire::shop::{ChargeStatus, Ledger};
use axum::extract::State;

use super::{AppError, AppState};

/// Every charge, oldest first, optionally only `captured` or only `voided` ones: what
/// reconciliation against orders reads.
#[utoipa::path(
    get,
    path = "/ledger",
    params(("status" = Option<String>, Query, description = "captured or voided (default: both)")),
    responses(
        (status = 200, body = Ledger),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_status"),
    )
)]
pub async fn ledger(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<axum::Json<Ledger>, AppError> {
    let status = match params.get("status").map(String::as_str) {
        None | Some("") => None,
        Some("captured") => Some(ChargeStatus::Captured),
        Some("voided") => Some(ChargeStatus::Voided),
        Some(_) => return Err(AppError::InvalidStatus),
    };
    let charges = state.store.ledger(status).await?;
    Ok(axum::Json(Ledger { charges }))
}
