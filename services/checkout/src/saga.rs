//! The checkout saga.
//!
//! read cart -> price via catalog -> reserve stock -> shipping quote -> charge payment ->
//! record the order -> commit the reservation -> empty the cart.
//!
//! Every step is a span (`checkout.<step>`) around its downstream call, so one checkout's trace
//! covers cart, catalog, inventory, shipping, payment and orders under the caller's span.
//! The checkout id keys every write (reservation id, payment idempotency key, order id), so a
//! retried checkout converges on the same reservation, charge and order.
//!
//! Failure handling, by how far the saga got:
//! - before anything was held (cart, catalog): nothing to undo;
//! - reserve, quote, charge fail: release the stock; when the charge's outcome is unknown
//!   (timeout, connection cut, 5xx) also void by key — payment bars a key it never charged, so a
//!   charge that arrives late is refused instead of taking money without an order;
//! - recording the order is refused (4xx): void the charge and release the stock;
//!   its outcome is unknown: the order may exist, so undoing the charge could leave an order
//!   without payment — instead it is recorded again in the background until orders answers
//!   (forward recovery), and the shopper gets 202 `pending`;
//! - commit and empty-cart failures never fail a placed order: they are retried in the
//!   background ([`crate::compensation`]).

use apiary_telemetry::DownstreamError;
use apiary_telemetry::metrics::counter;
use apiary_wire::Money;
use apiary_wire::shop::{
    Card, CheckoutResult, LineItem, NewOrder, Order, OrderLine, ReservationStatus,
};
use tracing::Instrument;

use crate::clients::Clients;
use crate::compensation::{Compensator, Task};
use crate::domain::{CartId, CheckoutId, Country};

/// A checkout to run, validated.
#[derive(Debug, Clone)]
pub struct CheckoutCommand {
    pub id: CheckoutId,
    pub cart_id: CartId,
    pub card: Card,
    pub country: Country,
}

/// The saga's steps, for spans, errors and the `reason` of failed orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    ReadCart,
    PriceItems,
    ReserveStock,
    QuoteShipping,
    ChargePayment,
    RecordOrder,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::ReadCart => "read_cart",
            Step::PriceItems => "price_items",
            Step::ReserveStock => "reserve_stock",
            Step::QuoteShipping => "quote_shipping",
            Step::ChargePayment => "charge_payment",
            Step::RecordOrder => "record_order",
        }
    }
}

/// Why a checkout did not place an order.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("the cart is empty")]
    CartEmpty,
    #[error("no longer sold: {}", .0.join(", "))]
    ProductsUnavailable(Vec<String>),
    /// A downstream's data contradicts the contract (e.g. mixed currencies).
    #[error("{0}")]
    Inconsistent(String),
    #[error("{step:?}: {error}")]
    Step {
        step: Step,
        #[source]
        error: DownstreamError,
    },
}

impl CheckoutError {
    /// A low-cardinality reason for `shop_orders_failed_total{reason}`.
    pub fn reason(&self) -> String {
        match self {
            CheckoutError::CartEmpty => "cart_empty".to_owned(),
            CheckoutError::ProductsUnavailable(_) => "product_unavailable".to_owned(),
            CheckoutError::Inconsistent(_) => "inconsistent_data".to_owned(),
            CheckoutError::Step { step, error } => match error.rejected_code() {
                Some(code) if is_known_reason(code) => code.to_owned(),
                _ => format!("{}_{}", step.as_str(), error.kind()),
            },
        }
    }
}

/// Refusal codes worth their own label (anything else is summarised by step and kind).
fn is_known_reason(code: &str) -> bool {
    matches!(
        code,
        "out_of_stock"
            | "card_declined"
            | "insufficient_funds"
            | "expired_card"
            | "incorrect_cvc"
            | "fraud_suspected"
            | "amount_limit_exceeded"
            | "invalid_card_number"
            | "invalid_expiry"
            | "invalid_cvc"
            | "unsupported_destination"
            | "charge_voided"
            | "reservation_released"
    )
}

/// A placed order, or one whose recording is being finished in the background.
#[derive(Debug)]
pub enum Outcome {
    Placed(CheckoutResult),
    /// An earlier run of the same checkout placed it already.
    Replayed(CheckoutResult),
    Pending(CheckoutResult),
}

fn step_span(step: Step) -> tracing::Span {
    tracing::info_span!(
        "checkout.step",
        otel.name = %format_args!("checkout.{}", step.as_str()),
        checkout.step = step.as_str(),
        otel.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// Runs `fut` inside the step's span, marking the span failed on error.
async fn step<T>(
    step: Step,
    fut: impl Future<Output = Result<T, DownstreamError>>,
) -> Result<T, CheckoutError> {
    let span = step_span(step);
    let result = fut.instrument(span.clone()).await;
    result.map_err(|error| {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", error.kind());
        CheckoutError::Step { step, error }
    })
}

/// Runs one checkout. Counts started/completed/failed.
pub async fn run(
    clients: &Clients,
    compensator: &Compensator,
    cmd: CheckoutCommand,
) -> Result<Outcome, CheckoutError> {
    counter!("shop_checkouts_started_total").increment(1);
    let span = tracing::info_span!(
        "checkout",
        otel.name = "checkout saga",
        checkout.id = %cmd.id,
        otel.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    let result = execute(clients, compensator, cmd)
        .instrument(span.clone())
        .await;
    if let Err(err) = &result {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", err.reason().as_str());
    }
    match &result {
        Ok(Outcome::Placed(_)) | Ok(Outcome::Pending(_)) => {
            counter!("shop_checkouts_completed_total").increment(1);
        }
        // A replay completed nothing new.
        Ok(Outcome::Replayed(_)) => {}
        Err(err) => {
            let reason = err.reason();
            tracing::info!(reason = %reason, error = %err, "checkout failed");
            counter!("shop_orders_failed_total", "reason" => reason).increment(1);
        }
    }
    result
}

async fn execute(
    clients: &Clients,
    compensator: &Compensator,
    cmd: CheckoutCommand,
) -> Result<Outcome, CheckoutError> {
    let id = &cmd.id;

    // A checkout that already produced an order answers with it (the shopper's retry after a
    // lost response). If orders cannot tell right now, carry on: every step is idempotent.
    if let Ok(Some(order)) = clients.orders.find(id).await {
        return Ok(Outcome::Replayed(result_from(&order, "", 0)));
    }

    let cart = step(Step::ReadCart, clients.cart.get(&cmd.cart_id)).await?;
    if cart.items.is_empty() {
        return Err(CheckoutError::CartEmpty);
    }
    let items = cart.items;

    let lines = price(clients, &items).await?;
    let subtotal = sum(&lines)?;

    let reservation = match step(
        Step::ReserveStock,
        clients.inventory.reserve(id, items.clone()),
    )
    .await
    {
        Ok(r) => r,
        Err(err) => {
            if unknown_outcome(&err) {
                compensator.run(Task::ReleaseStock(id.clone())).await;
            }
            return Err(err);
        }
    };
    if reservation.status == ReservationStatus::Released {
        // An earlier, failed run of this checkout released it; holding again would resurrect it.
        return Err(CheckoutError::Inconsistent(
            "this checkout was cancelled; start a new one".to_owned(),
        ));
    }

    let quote = match step(
        Step::QuoteShipping,
        clients.shipping.quote(cmd.country.as_str(), items.clone()),
    )
    .await
    {
        Ok(q) => q,
        Err(err) => {
            compensator.run(Task::ReleaseStock(id.clone())).await;
            return Err(err);
        }
    };
    if quote.amount.currency != subtotal.currency {
        compensator.run(Task::ReleaseStock(id.clone())).await;
        return Err(CheckoutError::Inconsistent(format!(
            "shipping quoted in {} for goods priced in {}",
            quote.amount.currency.as_str(),
            subtotal.currency.as_str()
        )));
    }
    let total = Money {
        amount_minor: subtotal.amount_minor + quote.amount.amount_minor,
        currency: subtotal.currency,
    };

    let charge = match step(
        Step::ChargePayment,
        clients.payment.charge(id, total, cmd.card),
    )
    .await
    {
        Ok(c) => c,
        Err(err) => {
            if unknown_outcome(&err) {
                compensator.run(Task::VoidCharge(id.clone())).await;
            }
            compensator.run(Task::ReleaseStock(id.clone())).await;
            return Err(err);
        }
    };

    let new_order = NewOrder {
        order_id: id.as_str().to_owned(),
        cart_id: cmd.cart_id.as_str().to_owned(),
        lines: lines.clone(),
        shipping: quote.amount,
        total,
        charge_id: charge.charge_id.clone(),
        reservation_id: reservation.reservation_id.clone(),
        quote_id: quote.quote_id.clone(),
    };
    let order = match step(Step::RecordOrder, clients.orders.record(&new_order)).await {
        Ok(order) => order,
        Err(err) if unknown_outcome(&err) => {
            // The order may exist: finish it rather than undo the charge.
            tracing::warn!(error = %err, "order outcome unknown; recording it in the background");
            compensator.spawn(Task::RecordOrder(Box::new(new_order.clone()), cmd.cart_id));
            return Ok(Outcome::Pending(CheckoutResult {
                order_id: new_order.order_id,
                status: "pending".to_owned(),
                lines: new_order.lines,
                shipping: new_order.shipping,
                total: new_order.total,
                charge_id: charge.charge_id,
                carrier: quote.carrier,
                eta_days: quote.eta_days,
            }));
        }
        Err(err) => {
            compensator.run(Task::VoidCharge(id.clone())).await;
            compensator.run(Task::ReleaseStock(id.clone())).await;
            return Err(err);
        }
    };

    // The order stands from here on; what remains is bookkeeping that must eventually happen.
    let commit = step_span_run(
        "commit_stock",
        compensator.run(Task::CommitStock(id.clone())),
    );
    let empty = step_span_run(
        "empty_cart",
        compensator.run(Task::EmptyCart(cmd.cart_id.clone())),
    );
    let _ = tokio::join!(commit, empty);

    Ok(Outcome::Placed(result_from(
        &order,
        &quote.carrier,
        quote.eta_days,
    )))
}

/// The bookkeeping steps after the order get their own spans too.
async fn step_span_run(name: &'static str, fut: impl Future<Output = bool>) -> bool {
    let span = tracing::info_span!(
        "checkout.step",
        otel.name = %format_args!("checkout.{name}"),
        checkout.step = name,
    );
    fut.instrument(span).await
}

/// The step failed without a definitive answer: the write may or may not have happened.
fn unknown_outcome(err: &CheckoutError) -> bool {
    matches!(err, CheckoutError::Step { error, .. } if error.outcome_unknown())
}

/// Current prices and titles for the cart's lines; every product must still be sold.
async fn price(clients: &Clients, items: &[LineItem]) -> Result<Vec<OrderLine>, CheckoutError> {
    let ids: Vec<&str> = items.iter().map(|i| i.product_id.as_str()).collect();
    let page = step(Step::PriceItems, clients.catalog.products(&ids)).await?;
    let mut missing = Vec::new();
    let mut lines = Vec::with_capacity(items.len());
    for item in items {
        match page.items.iter().find(|p| p.id == item.product_id) {
            Some(p) => lines.push(OrderLine {
                product_id: p.id.clone(),
                title: p.title.clone(),
                unit_price: p.price,
                quantity: item.quantity,
            }),
            None => missing.push(item.product_id.clone()),
        }
    }
    if missing.is_empty() {
        Ok(lines)
    } else {
        Err(CheckoutError::ProductsUnavailable(missing))
    }
}

/// The lines' sum; lines must share one currency.
fn sum(lines: &[OrderLine]) -> Result<Money, CheckoutError> {
    let Some(first) = lines.first() else {
        return Err(CheckoutError::CartEmpty);
    };
    let currency = first.unit_price.currency;
    let mut amount: i64 = 0;
    for line in lines {
        if line.unit_price.currency != currency {
            return Err(CheckoutError::Inconsistent(
                "the cart mixes currencies".to_owned(),
            ));
        }
        amount = line
            .unit_price
            .amount_minor
            .checked_mul(i64::from(line.quantity))
            .and_then(|v| v.checked_add(amount))
            .ok_or_else(|| CheckoutError::Inconsistent("order total overflows".to_owned()))?;
    }
    Ok(Money {
        amount_minor: amount,
        currency,
    })
}

fn result_from(order: &Order, carrier: &str, eta_days: u8) -> CheckoutResult {
    CheckoutResult {
        order_id: order.order_id.clone(),
        status: order.status.clone(),
        lines: order.lines.clone(),
        shipping: order.shipping,
        total: order.total,
        charge_id: order.charge_id.clone(),
        carrier: carrier.to_owned(),
        eta_days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiary_wire::Currency;

    fn line(price: i64, qty: u32, currency: Currency) -> OrderLine {
        OrderLine {
            product_id: "BK-0001".to_owned(),
            title: "T".to_owned(),
            unit_price: Money {
                amount_minor: price,
                currency,
            },
            quantity: qty,
        }
    }

    #[test]
    fn totals_are_exact_in_minor_units() {
        let lines = [line(999, 3, Currency::EUR), line(1, 1, Currency::EUR)];
        assert_eq!(sum(&lines).expect("sum").amount_minor, 2998);
    }

    #[test]
    fn mixed_currencies_and_overflow_are_refused() {
        let usd = Currency::parse("USD").expect("usd");
        assert!(sum(&[line(1, 1, Currency::EUR), line(1, 1, usd)]).is_err());
        assert!(sum(&[line(i64::MAX, 2, Currency::EUR)]).is_err());
        assert!(matches!(sum(&[]), Err(CheckoutError::CartEmpty)));
    }

    #[test]
    fn failure_reasons_stay_low_cardinality() {
        let rejected = |code: &str| CheckoutError::Step {
            step: Step::ChargePayment,
            error: DownstreamError::Rejected {
                peer: "payment".to_owned(),
                status: 402,
                body: apiary_wire::ErrorBody {
                    error: apiary_wire::ErrorDetail {
                        code: code.to_owned(),
                        message: "m".to_owned(),
                    },
                },
            },
        };
        assert_eq!(rejected("card_declined").reason(), "card_declined");
        assert_eq!(rejected("whatever-123").reason(), "charge_payment_rejected");
        let failed = CheckoutError::Step {
            step: Step::RecordOrder,
            error: DownstreamError::Failed {
                peer: "orders".to_owned(),
                detail: "answered 500".to_owned(),
            },
        };
        assert_eq!(failed.reason(), "record_order_failed");
    }
}
