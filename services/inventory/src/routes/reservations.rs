//! `POST /reservations`, `GET /reservations/{id}`, `POST /reservations/{id}/commit|release`.

use apiary_chassis::extract::{Json, Path};
use apiary_wire::shop::{Reservation, ReserveRequest};
use axum::extract::State;
use axum::http::StatusCode;

use super::{AppError, AppState};
use crate::domain::{ReservationId, ReserveStock};
use crate::metrics::{self, Outcome};
use crate::store::{Change, InventoryError, Reserved};

/// Holds stock for every line, or for none. Idempotent by `reservation_id`.
#[utoipa::path(
    post,
    path = "/reservations",
    request_body = ReserveRequest,
    responses(
        (status = 201, body = Reservation, description = "stock is held"),
        (status = 200, body = Reservation, description = "the same request was made before (any status)"),
        (status = 404, body = apiary_wire::ErrorBody, description = "unknown_product"),
        (status = 409, body = apiary_wire::ErrorBody, description = "out_of_stock (names the products), reservation_conflict (same id, other lines), reservation_released (the id was released before)"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid_reservation_id, invalid_product_id, invalid_quantity, invalid_lines, duplicate_line, invalid_body"),
    )
)]
pub async fn reserve_stock(
    State(state): State<AppState>,
    Json(body): Json<ReserveRequest>,
) -> Result<(StatusCode, axum::Json<Reservation>), AppError> {
    let request = ReserveStock::parse(body)?;
    let hold_ms = i64::try_from(state.hold.as_millis()).unwrap_or(i64::MAX);
    let id = request.id.clone();
    match state
        .store
        .reserve(request, apiary_store::now_ms(), hold_ms)
        .await
    {
        Ok(Reserved::Created(r)) => {
            metrics::reservations(Outcome::Held, 1);
            tracing::info!(reservation_id = %id, lines = r.items.len(), "stock reserved");
            Ok((StatusCode::CREATED, axum::Json(r)))
        }
        Ok(Reserved::Existing(r)) => Ok((StatusCode::OK, axum::Json(r))),
        Err(e @ InventoryError::OutOfStock(_)) => {
            metrics::stockout();
            tracing::info!(reservation_id = %id, reason = %e, "reservation refused");
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// One reservation.
#[utoipa::path(
    get,
    path = "/reservations/{reservation_id}",
    params(("reservation_id" = apiary_wire::ids::TokenId, Path)),
    responses(
        (status = 200, body = Reservation),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_reservation_id"),
        (status = 404, body = apiary_wire::ErrorBody, description = "reservation_not_found"),
    )
)]
pub async fn get_reservation(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<axum::Json<Reservation>, AppError> {
    let id = parse_id(&raw)?;
    match state.store.reservation(id.clone()).await? {
        Some(r) => Ok(axum::Json(r)),
        None => Err(InventoryError::NotFound(id.to_string()).into()),
    }
}

/// `held` -> `committed`: the held units are sold. Committing again answers 200.
#[utoipa::path(
    post,
    path = "/reservations/{reservation_id}/commit",
    params(("reservation_id" = apiary_wire::ids::TokenId, Path)),
    responses(
        (status = 200, body = Reservation),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_reservation_id"),
        (status = 404, body = apiary_wire::ErrorBody, description = "reservation_not_found"),
        (status = 409, body = apiary_wire::ErrorBody, description = "reservation_released (released or expired)"),
    )
)]
pub async fn commit_reservation(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<axum::Json<Reservation>, AppError> {
    let id = parse_id(&raw)?;
    let (reservation, change) = state
        .store
        .commit(id.clone(), apiary_store::now_ms())
        .await?;
    if change == Change::Applied {
        metrics::reservations(Outcome::Committed, 1);
        tracing::info!(reservation_id = %id, "reservation committed");
    }
    Ok(axum::Json(reservation))
}

/// `held` -> `released`: the held units are available again. Releasing again answers 200; an
/// unknown id is recorded as released, so a late reserve with it is refused.
#[utoipa::path(
    post,
    path = "/reservations/{reservation_id}/release",
    params(("reservation_id" = apiary_wire::ids::TokenId, Path)),
    responses(
        (status = 200, body = Reservation),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_reservation_id"),
        (status = 409, body = apiary_wire::ErrorBody, description = "reservation_committed"),
    )
)]
pub async fn release_reservation(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<axum::Json<Reservation>, AppError> {
    let id = parse_id(&raw)?;
    let (reservation, change) = state
        .store
        .release(id.clone(), apiary_store::now_ms())
        .await?;
    match change {
        Change::Applied => {
            metrics::reservations(Outcome::Released, 1);
            tracing::info!(reservation_id = %id, "reservation released");
        }
        Change::Tombstoned => {
            // Worth a line: a caller compensated for a reserve that never arrived (yet).
            tracing::info!(reservation_id = %id, "unknown reservation released; id tombstoned");
        }
        Change::AlreadyDone => {}
    }
    Ok(axum::Json(reservation))
}

fn parse_id(raw: &str) -> Result<ReservationId, AppError> {
    ReservationId::parse(raw).map_err(|m| AppError::bad_request("invalid_reservation_id", m))
}
