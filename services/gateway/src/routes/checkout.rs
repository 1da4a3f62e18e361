//! `POST /api/checkout`.

use apiary_telemetry::extract::Json;
use apiary_wire::shop::CheckoutResult;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{AppError, AppState};
use crate::domain::{CartId, CheckoutId};
use crate::storefront::{self, CheckoutBody};

/// The header whose value becomes the checkout id.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Checks the cart out: reserves stock, quotes shipping, charges the card, records the order.
/// Send an `Idempotency-Key` (1-64 of `A-Za-z0-9_-`) and repeat it on retry: it becomes the
/// checkout and order id, so a retried checkout is answered, not charged again.
#[utoipa::path(
    post,
    path = "/api/checkout",
    tag = "checkout",
    params(("Idempotency-Key" = Option<String>, Header, description = "becomes the checkout and order id")),
    request_body = CheckoutBody,
    responses(
        (status = 201, body = CheckoutResult, headers(("location" = String, description = "/api/orders/{order_id}"))),
        (status = 400, body = apiary_wire::ErrorBody, description = "malformed id, key or JSON"),
        (status = 402, body = apiary_wire::ErrorBody, description = "declined; the code is the reason"),
        (status = 409, body = apiary_wire::ErrorBody, description = "cart_empty or out_of_stock"),
        (status = 422, body = apiary_wire::ErrorBody, description = "card or address problem"),
        (status = 502, body = apiary_wire::ErrorBody),
        (status = 503, body = apiary_wire::ErrorBody),
        (status = 504, body = apiary_wire::ErrorBody, description = "outcome unknown: retry with the same Idempotency-Key"),
    )
)]
pub async fn checkout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<CheckoutBody>,
) -> Result<Response, AppError> {
    let checkout_id = match headers.get(IDEMPOTENCY_KEY) {
        Some(value) => CheckoutId::parse(value.to_str().unwrap_or_default())?,
        None => CheckoutId::new_random(),
    };
    let cart_id = CartId::parse(&body.cart_id)?;
    let result = storefront::checkout(
        &state.clients,
        &checkout_id,
        &cart_id,
        body.card,
        body.shipping,
    )
    .await?;
    let mut response = (StatusCode::CREATED, axum::Json(&result)).into_response();
    // The order id passed the checkout service's id rule; encoded anyway, it is a header.
    let location = format!(
        "/api/orders/{}",
        apiary_telemetry::encode_segment(&result.order_id)
    );
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}
