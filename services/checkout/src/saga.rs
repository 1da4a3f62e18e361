//! The checkout saga, and what it concludes.
//!
//! read cart -> price via catalog -> reserve stock -> shipping quote -> charge payment ->
//! record the order -> commit the reservation -> empty the cart.
//!
//! Every step's intent is written to the saga log before its call and its outcome after it
//! ([`crate::store`]), so a checkout killed at any point knows on restart what it may have
//! done ([`crate::runner`] recovers it). Every step is a span (`checkout.<step>`) around its
//! downstream call, so one checkout's trace covers cart, catalog, inventory, shipping, payment
//! and orders. The checkout id keys every write (reservation id, payment idempotency key,
//! order id), so a repeated step converges on the same reservation, charge and order.
//!
//! Failure handling, by how far the saga got ([`Conclusion::Failed`] names the clean-up owed,
//! which the saga store records with the failure in one transaction):
//! - before anything was held (cart, catalog): nothing to undo;
//! - reserve, quote, charge fail: release the stock; when the charge's outcome is unknown
//!   (timeout, connection cut, 5xx) also void by key — payment bars a key it never charged, so a
//!   charge that arrives late is refused instead of taking money without an order;
//! - recording the order is refused (4xx): void the charge and release the stock;
//!   its outcome is unknown: the order may exist, so undoing the charge could leave an order
//!   without payment — instead it is recorded again in the background until orders answers
//!   (forward recovery), and the shopper gets 202 `pending`;
//! - commit and empty-cart failures never fail a placed order: they are owed clean-up
//!   ([`crate::compensation`]).

use apiary_chassis::DownstreamError;
use apiary_telemetry::metrics::counter;
use apiary_wire::Money;
use apiary_wire::shop::{
    Card, CheckoutResult, LineItem, NewOrder, Order, OrderLine, ReservationStatus, SagaState,
};
use tracing::Instrument;

use crate::answer::{self, Answer};
use crate::clients::Clients;
use crate::compensation::{Task, after_placed};
use crate::domain::{CartId, CheckoutId, Country};
use crate::store::{SagaStore, SagaStoreError, Transition};

/// A checkout to run, validated.
#[derive(Debug, Clone)]
pub struct CheckoutCommand {
    pub id: CheckoutId,
    pub cart_id: CartId,
    pub card: Card,
    pub country: Country,
}

/// The saga's steps, for spans, the log, errors and the `reason` of failed orders.
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
    pub const ALL: [Step; 6] = [
        Step::ReadCart,
        Step::PriceItems,
        Step::ReserveStock,
        Step::QuoteShipping,
        Step::ChargePayment,
        Step::RecordOrder,
    ];

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

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A test hook (`CHECKOUT_CRASH_AT=<step>:<before|after>`): the process aborts right after
/// the step's intent is logged (`before` its call) or right after its call succeeded
/// (`after`, before the outcome is logged) — a kill -9 at an exact point of the saga, which
/// the recovery tests use. Never set in a real deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashPoint {
    pub step: Step,
    pub after_call: bool,
}

/// A `CHECKOUT_CRASH_AT` that names no crash point.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCrashPoint {
    #[error("expected <step>:<before|after>")]
    Shape,
    #[error("unknown step {0:?}")]
    Step(String),
    #[error("expected before or after, not {0:?}")]
    When(String),
}

impl CrashPoint {
    pub fn parse(raw: &str) -> Result<Self, InvalidCrashPoint> {
        let (step, when) = raw.split_once(':').ok_or(InvalidCrashPoint::Shape)?;
        let step = Step::parse(step).ok_or_else(|| InvalidCrashPoint::Step(step.to_owned()))?;
        let after_call = match when {
            "before" => false,
            "after" => true,
            other => return Err(InvalidCrashPoint::When(other.to_owned())),
        };
        Ok(Self { step, after_call })
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
    /// The saga log could not be written: no call is made whose intent is not logged.
    #[error("the saga log is unusable: {0}")]
    Store(#[from] SagaStoreError),
    #[error("{step:?}: {error}")]
    Step {
        step: Step,
        #[source]
        error: DownstreamError,
    },
}

impl CheckoutError {
    /// Whether the checkout was refused on the shopper's input (an empty cart, a product no
    /// longer sold, a declined card, no stock: answered 4xx) rather than broken (answered 5xx,
    /// or stopped on contradicting data). A refusal is a business outcome: its spans carry no
    /// error status, as the semantic conventions have it for a server's 4xx.
    pub fn is_refusal(&self) -> bool {
        match self {
            CheckoutError::CartEmpty | CheckoutError::ProductsUnavailable(_) => true,
            CheckoutError::Inconsistent(_) | CheckoutError::Store(_) => false,
            CheckoutError::Step { error, .. } => error.rejected_code().is_some(),
        }
    }

    /// A low-cardinality reason for `shop_orders_failed_total{reason}`.
    pub fn reason(&self) -> String {
        match self {
            CheckoutError::CartEmpty => "cart_empty".to_owned(),
            CheckoutError::ProductsUnavailable(_) => "product_unavailable".to_owned(),
            CheckoutError::Inconsistent(_) => "inconsistent_data".to_owned(),
            CheckoutError::Store(_) => "saga_log_unavailable".to_owned(),
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

/// How a run of the saga ended.
#[derive(Debug)]
pub enum Conclusion {
    /// The order is recorded.
    Placed(CheckoutResult),
    /// Charged; the order's recording had an unknown outcome and is owed (forward recovery).
    Pending(CheckoutResult, Task),
    /// No order; these undo what was held.
    Failed(CheckoutError, Vec<Task>),
}

impl Conclusion {
    /// The saga state, the answer replays get, and the clean-up owed.
    pub fn into_transition(self, id: &CheckoutId, cart: &CartId) -> Transition {
        match self {
            Conclusion::Placed(result) => Transition {
                state: SagaState::Placed,
                answer: Answer::created(&result),
                tasks: after_placed(id, cart),
            },
            Conclusion::Pending(result, task) => Transition {
                state: SagaState::Pending,
                answer: pending_answer(id.as_str(), result),
                tasks: vec![task],
            },
            Conclusion::Failed(err, tasks) => Transition {
                state: SagaState::Failed,
                answer: answer::for_error(&err),
                tasks,
            },
        }
    }
}

/// The 202 of a pending checkout: the order's totals are known, its recording is owed.
pub fn pending_answer(id: &str, result: CheckoutResult) -> Answer {
    let mut view = answer::status_view(id, SagaState::Pending, None, Vec::new());
    view.result = Some(result);
    Answer::accepted(&view)
}

/// What a pending order looks like to the shopper.
pub fn pending_result(order: &NewOrder, carrier: &str, eta_days: u8) -> CheckoutResult {
    CheckoutResult {
        order_id: order.order_id.clone(),
        status: "pending".to_owned(),
        lines: order.lines.clone(),
        shipping: order.shipping,
        total: order.total,
        charge_id: order.charge_id.clone(),
        carrier: carrier.to_owned(),
        eta_days,
    }
}

/// What a run of the saga needs besides the command.
#[derive(Debug, Clone)]
pub struct Saga {
    pub clients: Clients,
    pub store: SagaStore,
    pub crash: Option<CrashPoint>,
}

fn step_span(name: &str) -> tracing::Span {
    tracing::info_span!(
        "checkout.step",
        otel.name = %format_args!("checkout.{name}"),
        checkout.step = name,
        otel.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

impl Saga {
    fn crash_if(&self, step: Step, after_call: bool) {
        if self.crash == Some(CrashPoint { step, after_call }) {
            tracing::error!(
                step = step.as_str(),
                after_call,
                "CHECKOUT_CRASH_AT: aborting"
            );
            std::process::abort();
        }
    }

    /// Logs the step's intent, runs `fut` inside the step's span (marked failed on error), and
    /// logs its outcome. No call is made whose intent could not be logged.
    async fn step<T>(
        &self,
        id: &CheckoutId,
        step: Step,
        fut: impl Future<Output = Result<T, DownstreamError>>,
    ) -> Result<T, CheckoutError> {
        self.store.intent(id.as_str(), step.as_str()).await?;
        self.called(id, step, fut).await
    }

    /// The call and its outcome, once the intent is logged.
    async fn called<T>(
        &self,
        id: &CheckoutId,
        step: Step,
        fut: impl Future<Output = Result<T, DownstreamError>>,
    ) -> Result<T, CheckoutError> {
        self.crash_if(step, false);
        let span = step_span(step.as_str());
        let result = fut.instrument(span.clone()).await;
        if result.is_ok() {
            self.crash_if(step, true);
        }
        // The outcome entry is for people reading the log; recovery goes by the intent, so a
        // failure to write it changes nothing.
        if let Err(e) = self
            .store
            .outcome(id.as_str(), step.as_str(), result.is_ok())
            .await
        {
            tracing::warn!(error = %e, "cannot log a step's outcome");
        }
        result.map_err(|error| {
            // A refusal (a declined card, no stock) is the peer's verdict on the shopper's
            // input, not the step failing: the span says what it was without an error status.
            if error.rejected_code().is_none() {
                span.record("otel.status_code", "ERROR");
            }
            span.record("error.type", error.kind());
            CheckoutError::Step { step, error }
        })
    }

    /// Runs one checkout to its conclusion. Counts started/completed/failed.
    pub async fn run(&self, cmd: &CheckoutCommand) -> Conclusion {
        counter!(crate::metrics::STARTED).increment(1);
        let span = tracing::info_span!(
            "checkout",
            otel.name = "checkout saga",
            checkout.id = %cmd.id,
            otel.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        let conclusion = self.execute(cmd).instrument(span.clone()).await;
        match &conclusion {
            Conclusion::Placed(_) | Conclusion::Pending(..) => {
                counter!(crate::metrics::COMPLETED).increment(1);
            }
            Conclusion::Failed(err, _) => {
                if !err.is_refusal() {
                    span.record("otel.status_code", "ERROR");
                }
                span.record("error.type", err.reason().as_str());
                let reason = err.reason();
                tracing::info!(reason = %reason, error = %err, "checkout failed");
                counter!(crate::metrics::FAILED, "reason" => reason).increment(1);
            }
        }
        conclusion
    }

    async fn execute(&self, cmd: &CheckoutCommand) -> Conclusion {
        let id = &cmd.id;
        let clients = &self.clients;
        let release = || vec![Task::ReleaseStock(id.clone())];
        let void_and_release =
            || vec![Task::VoidCharge(id.clone()), Task::ReleaseStock(id.clone())];

        let cart = match self
            .step(id, Step::ReadCart, clients.cart.get(&cmd.cart_id))
            .await
        {
            Ok(cart) => cart,
            Err(err) => return Conclusion::Failed(err, Vec::new()),
        };
        if cart.items.is_empty() {
            return Conclusion::Failed(CheckoutError::CartEmpty, Vec::new());
        }
        let items = cart.items;

        let lines = match self.price(id, &items).await {
            Ok(lines) => lines,
            Err(err) => return Conclusion::Failed(err, Vec::new()),
        };
        let subtotal = match sum(&lines) {
            Ok(s) => s,
            Err(err) => return Conclusion::Failed(err, Vec::new()),
        };

        let reservation = match self
            .step(
                id,
                Step::ReserveStock,
                clients.inventory.reserve(id, items.clone()),
            )
            .await
        {
            Ok(r) => r,
            Err(err) => {
                let undo = if unknown_outcome(&err) {
                    release()
                } else {
                    Vec::new()
                };
                return Conclusion::Failed(err, undo);
            }
        };
        if reservation.status == ReservationStatus::Released {
            // An earlier, failed run of this checkout released it; holding again would resurrect it.
            return Conclusion::Failed(
                CheckoutError::Inconsistent("this checkout was cancelled; start a new one".into()),
                Vec::new(),
            );
        }

        let quote = match self
            .step(
                id,
                Step::QuoteShipping,
                clients.shipping.quote(cmd.country.as_str(), items.clone()),
            )
            .await
        {
            Ok(q) => q,
            Err(err) => return Conclusion::Failed(err, release()),
        };
        if quote.amount.currency != subtotal.currency {
            return Conclusion::Failed(
                CheckoutError::Inconsistent(format!(
                    "shipping quoted in {} for goods priced in {}",
                    quote.amount.currency.as_str(),
                    subtotal.currency.as_str()
                )),
                release(),
            );
        }
        let total = Money {
            amount_minor: subtotal.amount_minor + quote.amount.amount_minor,
            currency: subtotal.currency,
        };

        let charge = match self
            .step(
                id,
                Step::ChargePayment,
                clients.payment.charge(id, total, cmd.card.clone()),
            )
            .await
        {
            Ok(c) => c,
            Err(err) => {
                let undo = if unknown_outcome(&err) {
                    void_and_release()
                } else {
                    release()
                };
                return Conclusion::Failed(err, undo);
            }
        };

        let new_order = NewOrder {
            order_id: id.as_str().to_owned(),
            cart_id: cmd.cart_id.as_str().to_owned(),
            lines,
            shipping: quote.amount,
            total,
            charge_id: charge.charge_id.clone(),
            reservation_id: reservation.reservation_id.clone(),
            quote_id: quote.quote_id.clone(),
        };
        // The order goes into the log with the intent: from here a restarted checkout finishes
        // the order instead of undoing the charge.
        if let Err(e) = self
            .store
            .intent_record(id.as_str(), &new_order, &quote.carrier, quote.eta_days)
            .await
        {
            return Conclusion::Failed(e.into(), void_and_release());
        }
        match self
            .called(id, Step::RecordOrder, clients.orders.record(&new_order))
            .await
        {
            Ok(order) => Conclusion::Placed(result_from(&order, &quote.carrier, quote.eta_days)),
            Err(err) if unknown_outcome(&err) => {
                // The order may exist: finish it rather than undo the charge.
                tracing::warn!(error = %err, "order outcome unknown; recording it in the background");
                let result = pending_result(&new_order, &quote.carrier, quote.eta_days);
                let task = Task::RecordOrder(
                    Box::new(new_order),
                    cmd.cart_id.clone(),
                    quote.carrier,
                    quote.eta_days,
                );
                Conclusion::Pending(result, task)
            }
            Err(err) => Conclusion::Failed(err, void_and_release()),
        }
    }

    /// Current prices and titles for the cart's lines; every product must still be sold.
    async fn price(
        &self,
        id: &CheckoutId,
        items: &[LineItem],
    ) -> Result<Vec<OrderLine>, CheckoutError> {
        let ids: Vec<&str> = items.iter().map(|i| i.product_id.as_str()).collect();
        let page = self
            .step(id, Step::PriceItems, self.clients.catalog.products(&ids))
            .await?;
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
}

/// The step failed without a definitive answer: the write may or may not have happened.
fn unknown_outcome(err: &CheckoutError) -> bool {
    matches!(err, CheckoutError::Step { error, .. } if error.outcome_unknown())
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

pub fn result_from(order: &Order, carrier: &str, eta_days: u8) -> CheckoutResult {
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
    fn crash_points_name_a_step_and_a_side() {
        assert_eq!(
            CrashPoint::parse("charge_payment:after"),
            Ok(CrashPoint {
                step: Step::ChargePayment,
                after_call: true
            })
        );
        for bad in ["charge_payment", "pay:before", "record_order:during", ""] {
            assert!(CrashPoint::parse(bad).is_err(), "{bad}");
        }
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
        // A decline is a refusal (its spans carry no error status); a broken peer is not.
        assert!(rejected("card_declined").is_refusal());
        assert!(CheckoutError::CartEmpty.is_refusal());
        assert!(!failed.is_refusal());
        assert!(!CheckoutError::Inconsistent("mixed currencies".into()).is_refusal());
    }
}
