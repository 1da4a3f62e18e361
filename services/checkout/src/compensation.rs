//! Saga clean-up that must happen even when the peer that does it is down right now, or
//! checkout itself dies.
//!
//! Every [`Task`] is a row in the saga store before it is tried (written in the same
//! transaction as the state change that makes it owed), and is deleted only once its owner
//! confirmed it. The compensator tries a task once at once; when that fails (the peer is down,
//! the outcome is unknown) it retries it in the background with backoff (first pause
//! `CHECKOUT_COMPENSATION_RETRY_MS`, doubling to 5 s) until its owner gives a definitive
//! answer. At start-up every owed row is resumed ([`Compensator::resume`]). Every task is
//! idempotent at its owner (keyed by the checkout id), so running one twice — after a crash
//! between the owner's answer and the row's deletion — is safe. Tasks are traced as children
//! of the checkout that needed them.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiary_chassis::DownstreamError;
use apiary_telemetry::metrics::{counter, gauge};
use apiary_wire::shop::{NewOrder, SagaState};
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::answer::Answer;
use crate::clients::Clients;
use crate::domain::{CartId, CheckoutId};
use crate::store::{SagaStore, TaskRow, Transition};

const MAX_PAUSE: Duration = Duration::from_secs(5);

/// One clean-up step (stored as JSON in the saga store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Give reserved stock back.
    ReleaseStock(CheckoutId),
    /// Void the charge made with this key (or bar the key if none was made).
    VoidCharge(CheckoutId),
    /// Forward recovery after the order was recorded: the reservation must become a sale.
    CommitStock(CheckoutId),
    /// The order is placed; the cart should be empty.
    EmptyCart(CheckoutId, CartId),
    /// The order's outcome is unknown: record it (idempotent). On success the saga is placed
    /// and the stock committed and the cart emptied; if orders refuses it, the charge is voided
    /// and the stock released. Carrier and ETA complete the shopper's answer.
    RecordOrder(Box<NewOrder>, CartId, String, u8),
}

impl Task {
    pub fn name(&self) -> &'static str {
        match self {
            Task::ReleaseStock(_) => "release_stock",
            Task::VoidCharge(_) => "void_charge",
            Task::CommitStock(_) => "commit_stock",
            Task::EmptyCart(..) => "empty_cart",
            Task::RecordOrder(..) => "record_order",
        }
    }

    /// The checkout this clean-up belongs to.
    pub fn checkout_id(&self) -> &str {
        match self {
            Task::ReleaseStock(id)
            | Task::VoidCharge(id)
            | Task::CommitStock(id)
            | Task::EmptyCart(id, _) => id.as_str(),
            Task::RecordOrder(order, ..) => &order.order_id,
        }
    }
}

/// The clean-up that follows a placed order.
pub fn after_placed(id: &CheckoutId, cart: &CartId) -> Vec<Task> {
    vec![
        Task::CommitStock(id.clone()),
        Task::EmptyCart(id.clone(), cart.clone()),
    ]
}

/// What one attempt concluded.
enum Attempt {
    Done,
    /// The owner refused; retrying cannot help.
    Refused(DownstreamError),
    Retry(DownstreamError),
    /// Done; the saga moves on and these are owed now.
    Then(Transition),
}

/// Runs owed tasks now and, when they fail, in the background until they succeed.
#[derive(Debug, Clone)]
pub struct Compensator {
    clients: Clients,
    store: SagaStore,
    first_pause: Duration,
    /// Rows being worked on in this process: a row is never run twice at once.
    in_flight: Arc<Mutex<HashSet<i64>>>,
    completed: Arc<AtomicU64>,
}

impl Compensator {
    pub fn new(clients: Clients, store: SagaStore, first_pause: Duration) -> Self {
        Self {
            clients,
            store,
            first_pause,
            in_flight: Arc::new(Mutex::new(HashSet::new())),
            completed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Tasks finished (in the request or in the background) since start.
    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    /// Start-up: every owed row goes to the background (tried at once).
    pub async fn resume(&self) -> Result<usize, crate::store::SagaStoreError> {
        let rows = self.store.tasks().await?;
        let n = rows.len();
        for row in rows {
            let this = self.clone();
            tokio::spawn(async move { this.run_one(row).await });
        }
        Ok(n)
    }

    /// Tries each row once now (follow-ups too); what fails goes on in the background.
    /// Returns whether every row finished now.
    pub async fn run(&self, rows: Vec<TaskRow>) -> bool {
        let mut all = true;
        for row in rows {
            all &= Box::pin(self.run_one(row)).await;
        }
        all
    }

    /// Leaves the rows to the background, first try after a pause (they just failed).
    pub fn run_later(&self, rows: Vec<TaskRow>) {
        for row in rows {
            if self.claim(row.id) {
                self.spawn_retry(row);
            }
        }
    }

    fn claim(&self, id: i64) -> bool {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id)
    }

    fn release(&self, id: i64) {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    async fn run_one(&self, row: TaskRow) -> bool {
        if !self.claim(row.id) {
            // Someone in this process has it; it is not finished by us now.
            return false;
        }
        let span = tracing::info_span!(
            "compensate",
            otel.name = %format_args!("compensate {}", row.task.name()),
            compensation.task = row.task.name(),
            checkout.id = row.task.checkout_id(),
        );
        let attempt = self.attempt(&row.task).instrument(span).await;
        match self.conclude(&row, attempt, "done").await {
            Some(follow_ups) => {
                self.release(row.id);
                self.run(follow_ups).await;
                true
            }
            None => {
                self.spawn_retry(row);
                false
            }
        }
    }

    /// Records a definitive outcome: the row goes, the saga moves on, follow-ups are returned.
    /// `None`: retry later (the attempt failed, or the store could not record it).
    async fn conclude(
        &self,
        row: &TaskRow,
        attempt: Attempt,
        outcome: &'static str,
    ) -> Option<Vec<TaskRow>> {
        let task = &row.task;
        let then = match attempt {
            Attempt::Retry(err) => {
                tracing::warn!(task = task.name(), error = %err, "compensation failed; retrying in the background");
                return None;
            }
            Attempt::Done => None,
            Attempt::Then(t) => Some(t),
            Attempt::Refused(err) => {
                // The owner's state contradicts the saga (e.g. committing a reservation that
                // expired): nothing retrying can fix, so say it loudly.
                tracing::error!(task = task.name(), error = %err, "compensation refused by its owner");
                counter!(crate::metrics::COMPENSATIONS, "task" => task.name(), "outcome" => "refused")
                    .increment(1);
                self.completed.fetch_add(1, Ordering::Relaxed);
                return match self
                    .store
                    .task_done(
                        row.id,
                        task.checkout_id(),
                        task.name(),
                        false,
                        None,
                        Vec::new(),
                    )
                    .await
                {
                    Ok(next) => Some(next),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot record a refused compensation");
                        None
                    }
                };
            }
        };
        match self
            .store
            .task_done(
                row.id,
                task.checkout_id(),
                task.name(),
                true,
                then,
                Vec::new(),
            )
            .await
        {
            Ok(next) => {
                self.completed.fetch_add(1, Ordering::Relaxed);
                counter!(crate::metrics::COMPENSATIONS, "task" => task.name(), "outcome" => outcome)
                    .increment(1);
                Some(next)
            }
            Err(e) => {
                tracing::error!(error = %e, task = task.name(), "cannot record a finished compensation; it will run again");
                None
            }
        }
    }

    fn spawn_retry(&self, row: TaskRow) {
        let this = self.clone();
        let parent = tracing::Span::current();
        tokio::spawn(async move {
            let mut pause = this.first_pause;
            loop {
                tokio::time::sleep(pause).await;
                let span = tracing::info_span!(parent: &parent, "compensate", otel.name = %format_args!("compensate {}", row.task.name()), compensation.task = row.task.name(), compensation.background = true);
                let attempt = this.attempt(&row.task).instrument(span).await;
                match this.conclude(&row, attempt, "done_in_background").await {
                    Some(next) => {
                        this.release(row.id);
                        this.report_pending().await;
                        for follow_up in next {
                            let that = this.clone();
                            tokio::spawn(async move { that.run_one(follow_up).await });
                        }
                        return;
                    }
                    None => pause = (pause * 2).min(MAX_PAUSE),
                }
            }
        });
    }

    /// `checkout_compensations_pending`: owed clean-up plus unfinished sagas.
    pub async fn report_pending(&self) {
        if let Ok(n) = self.store.unfinished().await {
            gauge!(crate::metrics::COMPENSATIONS_PENDING).set(n as f64);
        }
    }

    async fn attempt(&self, task: &Task) -> Attempt {
        let c = &self.clients;
        let result = match task {
            Task::ReleaseStock(id) => c.inventory.release(id).await.map(drop),
            Task::VoidCharge(id) => c.payment.void(id).await.map(drop),
            Task::CommitStock(id) => c.inventory.commit(id).await.map(drop),
            Task::EmptyCart(_, cart) => c.cart.empty(cart).await,
            Task::RecordOrder(order, cart, carrier, eta_days) => {
                let Ok(id) = CheckoutId::parse(&order.order_id) else {
                    return Attempt::Done;
                };
                return match c.orders.record(order).await {
                    Ok(recorded) => {
                        let result = crate::saga::result_from(&recorded, carrier, *eta_days);
                        Attempt::Then(Transition {
                            state: SagaState::Placed,
                            answer: Answer::created(&result),
                            tasks: after_placed(&id, cart),
                        })
                    }
                    Err(e @ DownstreamError::Rejected { .. }) => {
                        tracing::error!(error = %e, "orders refused a recovered order; undoing the charge");
                        let (status, body) = e.relayed();
                        Attempt::Then(Transition {
                            state: SagaState::Failed,
                            answer: Answer::error(status.as_u16(), &body),
                            tasks: vec![Task::VoidCharge(id.clone()), Task::ReleaseStock(id)],
                        })
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
