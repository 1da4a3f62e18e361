//! `POST /orders`, `GET /orders?after_seq=&limit=`, `GET /orders/summary`,
//! `GET /orders/{order_id}`.

use apiary_chassis::extract::{Json, Path, Query};
use apiary_wire::shop::{NewOrder, Order, OrderFeed, OrderSummary};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::{AppError, AppState};
use crate::domain::{FeedQuery, OrderId, PlaceOrder};
use crate::metrics;
use crate::store::Placed;

/// Records an order. Idempotent by `order_id`.
#[utoipa::path(
    post,
    path = "/orders",
    request_body = NewOrder,
    responses(
        (status = 201, body = Order, description = "recorded, status placed"),
        (status = 200, body = Order, description = "the same order was placed before"),
        (status = 409, body = apiary_wire::ErrorBody, description = "order_conflict: the id was placed with another body"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid_order_id, invalid_cart_id, invalid_charge_id, invalid_reservation_id, invalid_quote_id, invalid_lines, invalid_product_id, invalid_title, invalid_quantity, invalid_price, currency_mismatch, total_mismatch, invalid_body"),
    )
)]
pub async fn place_order(
    State(state): State<AppState>,
    Json(body): Json<NewOrder>,
) -> Result<(StatusCode, axum::Json<Order>), AppError> {
    let order = PlaceOrder::parse(body)?;
    match state.store.place(order, apiary_store::now_ms()).await? {
        Placed::Created(order) => {
            // Its event is in the outbox (same transaction): let the relay publish it now.
            state.relay.notify_one();
            metrics::order_placed(&order);
            tracing::info!(
                order_id = %order.order_id,
                seq = order.seq,
                total_minor = order.total.amount_minor,
                currency = order.total.currency.as_str(),
                "order placed"
            );
            Ok((StatusCode::CREATED, axum::Json(order)))
        }
        Placed::Existing(order) => Ok((StatusCode::OK, axum::Json(order))),
    }
}

#[derive(Debug, Deserialize)]
pub struct FeedParams {
    after_seq: Option<String>,
    limit: Option<String>,
}

/// The feed: orders with `seq > after_seq`, ascending. Pass `last_seq` as the next `after_seq`.
#[utoipa::path(
    get,
    path = "/orders",
    params(
        ("after_seq" = Option<i64>, Query, minimum = 0, description = "return orders after this seq (default 0)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "page size, 1-500 (default 100)"),
    ),
    responses(
        (status = 200, body = OrderFeed),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_after_seq or invalid_limit"),
    )
)]
pub async fn order_feed(
    State(state): State<AppState>,
    Query(params): Query<FeedParams>,
) -> Result<axum::Json<OrderFeed>, AppError> {
    let query = FeedQuery::parse(params.after_seq.as_deref(), params.limit.as_deref())
        .map_err(|(code, message)| AppError::bad_request(code, message))?;
    Ok(axum::Json(state.store.feed(query).await?))
}

/// Orders, units and revenue (order totals, shipping included) per currency.
#[utoipa::path(
    get,
    path = "/orders/summary",
    responses((status = 200, body = OrderSummary))
)]
pub async fn order_summary(
    State(state): State<AppState>,
) -> Result<axum::Json<OrderSummary>, AppError> {
    Ok(axum::Json(state.store.summary().await?))
}

/// One order.
#[utoipa::path(
    get,
    path = "/orders/{order_id}",
    params(("order_id" = apiary_wire::ids::TokenId, Path)),
    responses(
        (status = 200, body = Order),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_order_id"),
        (status = 404, body = apiary_wire::ErrorBody, description = "order_not_found"),
    )
)]
pub async fn get_order(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<axum::Json<Order>, AppError> {
    let id = OrderId::parse(&raw).map_err(|m| AppError::bad_request("invalid_order_id", m))?;
    match state.store.order(id.clone()).await? {
        Some(order) => Ok(axum::Json(order)),
        None => Err(AppError::NotFound(id.to_string())),
    }
}
