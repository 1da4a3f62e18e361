//! Saga clean-up that must happen even when the peer that does it is down right now.
//!
//! The saga tries each clean-up step once inside the request. When that fails (the peer is
//! down, the request's deadline is spent, the outcome is unknown) the step becomes a [`Task`]
//! retried here with backoff (first pause `CHECKOUT_COMPENSATION_RETRY_MS`, doubling to 5 s)
//! until its owner gives a definitive answer. Every task is idempotent at its owner, so
//! repeating one is safe. Tasks are traced as children of the checkout that needed them.
//!
//! The queue lives in memory: if checkout itself dies, pending tasks are lost (inventory's hold
//! expiry still returns reserved stock; a charge whose void was pending stays captured and
//! shows up in reconciliation). A durable saga log is the next step if that matters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use apiary_telemetry::DownstreamError;
use apiary_telemetry::metrics::{counter, gauge};
use apiary_wire::shop::NewOrder;
use tracing::Instrument;

use crate::clients::Clients;
use crate::domain::{CartId, CheckoutId};

/// Tasks waiting at most; past this a task is dropped and counted (memory stays bounded even
/// if a peer is gone for good).
const MAX_PENDING: u64 = 10_000;
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// One clean-up step.
#[derive(Debug, Clone)]
pub enum Task {
    /// Give reserved stock back.
    ReleaseStock(CheckoutId),
    /// Void the charge made with this key (or bar the key if none was made).
    VoidCharge(CheckoutId),
    /// Forward recovery after the order was recorded: the reservation must become a sale.
    CommitStock(CheckoutId),
    /// The order is placed; the cart should be empty.
    EmptyCart(CartId),
    /// The order's outcome is unknown: record it (idempotent). On success commit the stock and
    /// empty the cart; if orders refuses it, void the charge and release the stock.
    RecordOrder(Box<NewOrder>, CartId),
}

impl Task {
    fn name(&self) -> &'static str {
        match self {
            Task::ReleaseStock(_) => "release_stock",
            Task::VoidCharge(_) => "void_charge",
            Task::CommitStock(_) => "commit_stock",
            Task::EmptyCart(_) => "empty_cart",
            Task::RecordOrder(..) => "record_order",
        }
    }
}

/// What one attempt concluded.
enum Attempt {
    Done,
    /// The owner refused; retrying cannot help.
    Refused(DownstreamError),
    Retry(DownstreamError),
    /// Done, and these follow.
    Then(Vec<Task>),
}

#[derive(Debug)]
struct Counters {
    pending: AtomicU64,
    completed: AtomicU64,
}

/// Runs tasks now and, when they fail, in the background until they succeed.
#[derive(Debug, Clone)]
pub struct Compensator {
    clients: Clients,
    first_pause: Duration,
    counters: Arc<Counters>,
}

impl Compensator {
    pub fn new(clients: Clients, first_pause: Duration) -> Self {
        Self {
            clients,
            first_pause,
            counters: Arc::new(Counters {
                pending: AtomicU64::new(0),
                completed: AtomicU64::new(0),
            }),
        }
    }

    /// Tasks being retried in the background.
    pub fn pending(&self) -> u64 {
        self.counters.pending.load(Ordering::Relaxed)
    }

    /// Tasks finished (in the request or in the background) since start.
    pub fn completed(&self) -> u64 {
        self.counters.completed.load(Ordering::Relaxed)
    }

    /// Tries `task` once now; on failure leaves it to the background. Returns whether it is
    /// done already.
    pub async fn run(&self, task: Task) -> bool {
        let span = tracing::info_span!("compensate", otel.name = %format_args!("compensate {}", task.name()), compensation.task = task.name());
        match self.attempt(&task).instrument(span).await {
            Attempt::Done => {
                self.finished(&task, "done");
                true
            }
            Attempt::Then(next) => {
                self.finished(&task, "done");
                for t in next {
                    Box::pin(self.run(t)).await;
                }
                true
            }
            Attempt::Refused(err) => {
                self.refused(&task, &err);
                true
            }
            Attempt::Retry(err) => {
                tracing::warn!(task = task.name(), error = %err, "compensation failed; retrying in the background");
                self.spawn(task);
                false
            }
        }
    }

    /// Queues `task` for the background without trying it now.
    pub fn spawn(&self, task: Task) {
        if self.counters.pending.fetch_add(1, Ordering::Relaxed) >= MAX_PENDING {
            self.counters.pending.fetch_sub(1, Ordering::Relaxed);
            tracing::error!(task = task.name(), "compensation queue full; task dropped");
            counter!("checkout_compensations_total", "task" => task.name(), "outcome" => "dropped")
                .increment(1);
            return;
        }
        gauge!("checkout_compensations_pending").set(self.pending() as f64);
        let this = self.clone();
        let parent = tracing::Span::current();
        tokio::spawn(async move {
            let mut pause = this.first_pause;
            loop {
                tokio::time::sleep(pause).await;
                let span = tracing::info_span!(parent: &parent, "compensate", otel.name = %format_args!("compensate {}", task.name()), compensation.task = task.name(), compensation.background = true);
                match this.attempt(&task).instrument(span).await {
                    Attempt::Retry(err) => {
                        tracing::debug!(task = task.name(), error = %err, "compensation still failing");
                        pause = (pause * 2).min(MAX_PAUSE);
                    }
                    outcome => {
                        this.counters.pending.fetch_sub(1, Ordering::Relaxed);
                        gauge!("checkout_compensations_pending").set(this.pending() as f64);
                        match outcome {
                            Attempt::Refused(err) => this.refused(&task, &err),
                            Attempt::Then(next) => {
                                this.finished(&task, "done_in_background");
                                for t in next {
                                    this.spawn_now(t);
                                }
                            }
                            _ => this.finished(&task, "done_in_background"),
                        }
                        return;
                    }
                }
            }
        });
    }

    /// A follow-up task from the background: try at once, then keep retrying.
    fn spawn_now(&self, task: Task) {
        let this = self.clone();
        tokio::spawn(async move {
            this.run(task).await;
        });
    }

    fn finished(&self, task: &Task, outcome: &'static str) {
        self.counters.completed.fetch_add(1, Ordering::Relaxed);
        counter!("checkout_compensations_total", "task" => task.name(), "outcome" => outcome)
            .increment(1);
    }

    fn refused(&self, task: &Task, err: &DownstreamError) {
        // The owner's state contradicts the saga (e.g. committing a reservation that expired):
        // nothing retrying can fix, so say it loudly.
        tracing::error!(task = task.name(), error = %err, "compensation refused by its owner");
        self.counters.completed.fetch_add(1, Ordering::Relaxed);
        counter!("checkout_compensations_total", "task" => task.name(), "outcome" => "refused")
            .increment(1);
    }

    async fn attempt(&self, task: &Task) -> Attempt {
        let c = &self.clients;
        let result = match task {
            Task::ReleaseStock(id) => c.inventory.release(id).await.map(drop),
            Task::VoidCharge(id) => c.payment.void(id).await.map(drop),
            Task::CommitStock(id) => c.inventory.commit(id).await.map(drop),
            Task::EmptyCart(id) => c.cart.empty(id).await,
            Task::RecordOrder(order, cart) => {
                let id = match CheckoutId::parse(&order.order_id) {
                    Ok(id) => id,
                    Err(_) => return Attempt::Done,
                };
                return match c.orders.record(order).await {
                    Ok(_) => {
                        Attempt::Then(vec![Task::CommitStock(id), Task::EmptyCart(cart.clone())])
                    }
                    Err(e @ DownstreamError::Rejected { .. }) => {
                        tracing::error!(error = %e, "orders refused a recovered order; undoing the charge");
                        Attempt::Then(vec![Task::VoidCharge(id.clone()), Task::ReleaseStock(id)])
                    }
                    Err(e) => Attempt::Retry(e),
                };
            }
        };
        match result {
            Ok(()) => Attempt::Done,
            Err(e @ DownstreamError::Rejected { .. }) => Attempt::Refused(e),
            Err(e) => Attempt::Retry(e),
        }
    }
}
