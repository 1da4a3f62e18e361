//! `POST /api/checkout` and `GET /api/checkouts/{checkout_id}`.

use apiary_chassis::extract::{Json, Path};
use apiary_wire::shop::{CheckoutResult, CheckoutStatus};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{AppError, AppState};
use crate::clients::checkout::CheckoutAnswer;
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
    params(("Idempotency-Key" = Option<apiary_wire::ids::TokenId>, Header, description = "becomes the checkout and order id")),
    request_body = CheckoutBody,
    responses(
        (status = 201, body = CheckoutResult, headers(("location" = String, description = "/api/orders/{order_id}"))),
        (status = 200, body = CheckoutResult, description = "this Idempotency-Key placed its order before"),
        (status = 202, body = CheckoutStatus, description = "not finished yet (state running), or charged with the order being recorded (state pending): ask status_url", headers(("location" = String, description = "/api/checkouts/{checkout_id}"))),
        (status = 400, body = apiary_wire::ErrorBody, description = "malformed id, key or JSON"),
        (status = 402, body = apiary_wire::ErrorBody, description = "declined; the code is the reason"),
        (status = 409, body = apiary_wire::ErrorBody, description = "cart_empty, out_of_stock, idempotency_key_reused (the key was used for another cart), checkout_interrupted"),
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
    let answer = storefront::checkout(
        &state.clients,
        &checkout_id,
        &cart_id,
        body.card,
        body.shipping,
    )
    .await?;
    let (status, body, location) = match answer {
        CheckoutAnswer::Placed(result) => (
            StatusCode::CREATED,
            serde_json::to_value(&result).unwrap_or_default(),
            format!(
                "/api/orders/{}",
                apiary_chassis::encode_segment(&result.order_id)
            ),
        ),
        CheckoutAnswer::Accepted(status) => {
            let status = storefront::on_this_api(status);
            let location = status.status_url.clone();
            (
                StatusCode::ACCEPTED,
                serde_json::to_value(&status).unwrap_or_default(),
                location,
            )
        }
    };
    let mut response = (status, axum::Json(body)).into_response();
    // The ids passed the checkout service's id rule; encoded anyway, it is a header.
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Where a checkout stands: running, pending (charged, the order being recorded), placed (with
/// the order) or failed (with the reason), and its saga log.
#[utoipa::path(
    get,
    path = "/api/checkouts/{checkout_id}",
    tag = "checkout",
    params(("checkout_id" = apiary_wire::ids::TokenId, Path, description = "the Idempotency-Key of the checkout")),
    responses(
        (status = 200, body = CheckoutStatus),
        (status = 400, body = apiary_wire::ErrorBody, description = "malformed id"),
        (status = 404, body = apiary_wire::ErrorBody, description = "checkout_not_found"),
        (status = 502, body = apiary_wire::ErrorBody),
        (status = 503, body = apiary_wire::ErrorBody),
        (status = 504, body = apiary_wire::ErrorBody),
    )
)]
pub async fn checkout_status(
    State(state): State<AppState>,
    Path(checkout_id): Path<String>,
) -> Result<axum::Json<CheckoutStatus>, AppError> {
    let checkout_id = CheckoutId::parse(&checkout_id)?;
    Ok(axum::Json(
        storefront::checkout_status(&state.clients, &checkout_id).await?,
    ))
}
