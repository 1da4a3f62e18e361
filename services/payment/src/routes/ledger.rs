//! `GET /ledger`.

use std::collections::HashMap;

use apiary_chassis::extract::Query;
use apiary_wire::shop::{ChargeStatus, Ledger};
use axum::extract::State;

use super::{AppError, AppState};

/// A page holds this many charges unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 500;
/// The most a page holds.
pub const MAX_LIMIT: u32 = 1000;

/// Charges, oldest first, optionally only `captured` or only `voided` ones, a page at a time:
/// what reconciliation against orders reads. Pass the answer's `last_seq` as `after_seq` for
/// the next page; a page without `last_seq` is the end.
#[utoipa::path(
    get,
    path = "/ledger",
    params(
        ("status" = Option<String>, Query, pattern = "^(captured|voided)$", description = "captured or voided (default: both)"),
        ("after_seq" = Option<i64>, Query, minimum = 0, description = "the cursor: charges after this one (default 0, the start)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "charges per page (default 500)"),
    ),
    responses(
        (status = 200, body = Ledger),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_status, invalid_cursor or invalid_limit"),
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
    let after_seq = match params.get("after_seq").map(String::as_str) {
        None | Some("") => 0,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or(AppError::InvalidCursor)?,
    };
    let limit = match params.get("limit").map(String::as_str) {
        None | Some("") => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or(AppError::InvalidLimit)?,
    };
    let (charges, last_seq) = state.store.ledger(status, after_seq, limit).await?;
    Ok(axum::Json(Ledger { charges, last_seq }))
}
