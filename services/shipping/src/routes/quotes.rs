//! `POST /quotes` and `GET /quotes/{quote_id}`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use apiary_chassis::extract::{Json, Path};
use apiary_telemetry::metrics::counter;
use apiary_wire::shop::{Quote, QuoteRequest};
use axum::extract::State;
use axum::http::StatusCode;

use super::{AppError, AppState};
use crate::domain::{Destination, Parcel, QuoteId};
use crate::pricing;
use crate::store::Lookup;

/// Prices a parcel to a destination; the quote holds for `SHIPPING_QUOTE_TTL_SECS`.
#[utoipa::path(
    post,
    path = "/quotes",
    request_body = QuoteRequest,
    responses(
        (status = 201, body = Quote),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_product_id, malformed_json"),
        (status = 415, body = apiary_wire::ErrorBody, description = "not application/json"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid_country, unsupported_destination, invalid_items (1-50 lines), invalid_quantity (1-99), invalid_body"),
    )
)]
pub async fn create_quote(
    State(state): State<AppState>,
    Json(request): Json<QuoteRequest>,
) -> Result<(StatusCode, axum::Json<Quote>), AppError> {
    let destination = Destination::parse(&request.country)?;
    let parcel = Parcel::parse(&request.items)?;
    let price = pricing::price(destination.zone(), parcel.units());
    let id = QuoteId::new();
    let now = Instant::now();
    let quote = Quote {
        quote_id: id.to_string(),
        country: destination.country().to_owned(),
        carrier: price.carrier.to_owned(),
        amount: price.amount,
        eta_days: price.eta_days,
        expires_at_ms: epoch_ms() + state.quotes.ttl().as_millis() as i64,
    };
    state.quotes.insert(id, quote.clone(), now);
    counter!(crate::metrics::QUOTES, "zone" => destination.zone().as_str()).increment(1);
    tracing::debug!(
        quote_id = %quote.quote_id,
        zone = destination.zone().as_str(),
        units = parcel.units(),
        amount_minor = quote.amount.amount_minor,
        "quote issued"
    );
    Ok((StatusCode::CREATED, axum::Json(quote)))
}

/// A quote issued earlier: 404 if never issued (or long gone), 410 once it has expired.
#[utoipa::path(
    get,
    path = "/quotes/{quote_id}",
    params(("quote_id" = apiary_wire::ids::TokenId, Path, description = "q_ and a UUID")),
    responses(
        (status = 200, body = Quote),
        (status = 404, body = apiary_wire::ErrorBody, description = "quote_not_found"),
        (status = 410, body = apiary_wire::ErrorBody, description = "quote_expired"),
    )
)]
pub async fn get_quote(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<axum::Json<Quote>, AppError> {
    let shown: String = raw.chars().take(48).collect();
    let Some(id) = QuoteId::parse(&raw) else {
        return Err(AppError::QuoteNotFound(shown));
    };
    match state.quotes.lookup(&id, Instant::now()) {
        Lookup::Valid(quote) => Ok(axum::Json(quote)),
        Lookup::Expired => Err(AppError::QuoteExpired(shown)),
        Lookup::NotFound => Err(AppError::QuoteNotFound(shown)),
    }
}

fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
