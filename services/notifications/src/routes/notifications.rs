//! `GET /notifications?order_id=&limit=`.

use std::collections::HashMap;

use apiary_chassis::extract::Query;
use apiary_wire::ids::{PageLimit, TokenId};
use apiary_wire::shop::NotificationList;
use axum::extract::State;

use super::{AppError, AppState};

/// Largest page, and the page size when none is asked for.
pub type Limit = PageLimit<200, 50>;

/// Stored confirmations, newest first; one order's with `order_id`.
#[utoipa::path(
    get,
    path = "/notifications",
    params(
        ("order_id" = Option<String>, Query, pattern = "^[A-Za-z0-9_-]{1,64}$", description = "only this order's"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "messages to return, 1-200 (default 50)"),
    ),
    responses(
        (status = 200, body = NotificationList),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_order_id"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid_limit"),
    )
)]
pub async fn list_notifications(
    State(store): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<axum::Json<NotificationList>, AppError> {
    let order_id = params
        .get("order_id")
        .map(|raw| TokenId::parse(raw, "order_id"))
        .transpose()
        .map_err(AppError::InvalidOrderId)?;
    let limit = Limit::parse(params.get("limit").map(String::as_str))?;
    let items = store
        .list(order_id.map(TokenId::into_string), limit.get())
        .await?;
    Ok(axum::Json(NotificationList { items }))
}
