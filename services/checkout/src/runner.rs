//! Each checkout's saga runs once, detached from the request that started it.
//!
//! `POST /checkouts` claims the checkout id in the saga store ([`SagaStore::begin`]: the
//! primary key, not a lock in this process, decides who runs it), spawns the saga as its own
//! task and waits for its conclusion until the request's deadline (less a margin to answer);
//! past that it answers 202 with a status URL while the saga goes on. A caller that hangs up,
//! or a timeout that fires, drops only the wait — never a saga between two steps. A second
//! request with the same id (a retry, a concurrent duplicate) waits for the same saga or
//! replays its stored answer; the same id with a different cart is refused.
//!
//! At start-up [`SagaRunner::recover`] concludes every saga the log shows still running (a
//! checkout that died mid-saga): forward where the order may exist (its `record_order` intent
//! was logged), undone otherwise; then every owed clean-up task is resumed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiary_telemetry::metrics::counter;
use apiary_wire::shop::SagaState;
use axum::http::StatusCode;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use crate::answer::{self, Answer};
use crate::compensation::{Compensator, Task};
use crate::saga::{CheckoutCommand, CheckoutError, Saga, Step, pending_answer, pending_result};
use crate::store::{Begin, SagaRecord, SagaStoreError, Transition};

/// How often a waiter that has no channel to the saga (it runs in a task it cannot see yet)
/// looks at the store.
const POLL: Duration = Duration::from_millis(25);

/// Finished sagas are pruned this often.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Runs sagas and answers for them.
#[derive(Debug, Clone)]
pub struct SagaRunner {
    saga: Saga,
    compensator: Compensator,
    /// Sagas running in this process: their waiters see the conclusion at once.
    running: Arc<Mutex<HashMap<String, watch::Receiver<bool>>>>,
}

/// Removes a finished saga's entry even if its task panicked.
struct Running {
    map: Arc<Mutex<HashMap<String, watch::Receiver<bool>>>>,
    id: String,
    done: watch::Sender<bool>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
        self.done.send_replace(true);
    }
}

impl SagaRunner {
    pub fn new(saga: Saga, compensator: Compensator) -> Self {
        Self {
            saga,
            compensator,
            running: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn compensator(&self) -> &Compensator {
        &self.compensator
    }

    /// Runs (or joins) the checkout and answers by `until`.
    pub async fn submit(&self, cmd: CheckoutCommand, until: Instant) -> Answer {
        let id = cmd.id.as_str().to_owned();
        match self
            .saga
            .store
            .begin(&id, cmd.cart_id.as_str(), cmd.country.as_str())
            .await
        {
            Err(e) => return answer::for_error(&CheckoutError::Store(e)),
            Ok(Begin::Started) => {
                self.spawn(cmd);
                // The first request gets the first answer (201 for a placed order).
                return match self.wait(&id, until).await {
                    Some(saga) => saga.answer.unwrap_or_else(|| still_running(&id)),
                    None => still_running(&id),
                };
            }
            Ok(Begin::Existing(saga)) => {
                if saga.cart_id != cmd.cart_id.as_str() || saga.country != cmd.country.as_str() {
                    return Answer::error_code(
                        StatusCode::CONFLICT,
                        "idempotency_key_reused",
                        "this checkout id was used for a different cart or address; use a new one",
                    );
                }
                if saga.state != SagaState::Running {
                    return answer::replay(&id, saga.state, saga.answer.as_ref());
                }
            }
        }
        match self.wait(&id, until).await {
            Some(saga) => answer::replay(&id, saga.state, saga.answer.as_ref()),
            None => still_running(&id),
        }
    }

    fn spawn(&self, cmd: CheckoutCommand) {
        let id = cmd.id.as_str().to_owned();
        let (done, rx) = watch::channel(false);
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), rx);
        let guard = Running {
            map: self.running.clone(),
            id,
            done,
        };
        let this = self.clone();
        // A child of the request's span, but not of its future: the request may go, the saga
        // stays.
        tokio::spawn(
            async move {
                this.conclude(&cmd).await;
                drop(guard);
            }
            .instrument(tracing::Span::current()),
        );
    }

    async fn conclude(&self, cmd: &CheckoutCommand) {
        let conclusion = self.saga.run(cmd).await;
        let run_now = !matches!(conclusion, crate::saga::Conclusion::Pending(..));
        let transition = conclusion.into_transition(&cmd.id, &cmd.cart_id);
        match self
            .saga
            .store
            .transition(cmd.id.as_str(), transition)
            .await
        {
            // Placed: commit and empty once now (the shopper's cart is empty when they hear
            // back). Failed: undo now. Pending: recording just failed; retry after a pause.
            Ok(rows) if run_now => {
                self.compensator.run(rows).await;
            }
            Ok(rows) => self.compensator.run_later(rows),
            Err(e) => {
                // The log still says running: the next start-up concludes it.
                tracing::error!(error = %e, checkout.id = %cmd.id, "cannot record the saga's conclusion");
            }
        }
        self.compensator.report_pending().await;
    }

    /// Waits until the saga is no longer running, or `until`. `None` on time-out or when
    /// the store cannot say.
    async fn wait(&self, id: &str, until: Instant) -> Option<SagaRecord> {
        loop {
            // Take the channel before reading the store, so a conclusion in between is seen.
            let rx = self
                .running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(id)
                .cloned();
            match self.saga.store.saga(id).await {
                Ok(Some(saga)) if saga.state != SagaState::Running => return Some(saga),
                Ok(Some(_)) => {}
                Ok(None) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the saga while waiting for it");
                    return None;
                }
            }
            if Instant::now() >= until {
                return None;
            }
            match rx {
                Some(mut rx) => {
                    if tokio::time::timeout_at(until, rx.wait_for(|done| *done))
                        .await
                        .is_err()
                    {
                        return None;
                    }
                }
                None => tokio::time::sleep_until(until.min(Instant::now() + POLL)).await,
            }
        }
    }

    /// Start-up: concludes every saga the log shows running, then resumes every owed task.
    /// Returns (sagas concluded, tasks resumed).
    pub async fn recover(&self) -> Result<(usize, usize), SagaStoreError> {
        let running = self.saga.store.running().await?;
        let concluded = running.len();
        for saga in running {
            let transition = recovery(&saga);
            tracing::warn!(
                checkout.id = %saga.checkout_id,
                stage = saga.stage.as_deref().unwrap_or("none"),
                state = transition.state.as_str(),
                "recovering a saga interrupted by a restart"
            );
            match transition.state {
                SagaState::Failed => {
                    counter!(crate::metrics::FAILED, "reason" => "checkout_interrupted")
                        .increment(1);
                }
                _ => counter!(crate::metrics::COMPLETED).increment(1),
            }
            self.saga
                .store
                .transition(&saga.checkout_id, transition)
                .await?;
        }
        let resumed = self.compensator.resume().await?;
        self.compensator.report_pending().await;
        Ok((concluded, resumed))
    }

    /// Deletes finished sagas past their retention, every hour, for as long as the service runs
    /// (its background task).
    pub fn prune_forever(
        &self,
        retention: Duration,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let store = self.saga.store.clone();
        async move {
            loop {
                let cutoff = apiary_store::now_ms()
                    - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
                match store.prune(cutoff).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(pruned = n, "finished sagas pruned"),
                    Err(e) => tracing::warn!(error = %e, "cannot prune finished sagas"),
                }
                tokio::time::sleep(PRUNE_EVERY).await;
            }
        }
    }
}

fn still_running(id: &str) -> Answer {
    Answer::accepted(&answer::status_view(
        id,
        SagaState::Running,
        None,
        Vec::new(),
    ))
}

/// What a saga found running after a restart becomes, by the last step whose intent was
/// logged: forward where the order may exist, undone otherwise.
pub fn recovery(saga: &SagaRecord) -> Transition {
    let stage = saga.stage.as_deref().and_then(Step::parse);
    let id = crate::domain::CheckoutId::parse(&saga.checkout_id);
    let cart = crate::domain::CartId::parse(&saga.cart_id);
    let (Ok(id), Ok(cart)) = (id, cart) else {
        // Ids are checked before they are stored; a row that fails is not ours to act on.
        return Transition {
            state: SagaState::Failed,
            answer: answer::interrupted(),
            tasks: Vec::new(),
        };
    };
    let failed = |tasks: Vec<Task>| Transition {
        state: SagaState::Failed,
        answer: answer::interrupted(),
        tasks,
    };
    match stage {
        None | Some(Step::ReadCart | Step::PriceItems) => failed(Vec::new()),
        Some(Step::ReserveStock | Step::QuoteShipping) => failed(vec![Task::ReleaseStock(id)]),
        Some(Step::ChargePayment) => {
            failed(vec![Task::VoidCharge(id.clone()), Task::ReleaseStock(id)])
        }
        Some(Step::RecordOrder) => match &saga.order {
            Some(order) => {
                let carrier = saga.carrier.clone().unwrap_or_default();
                let eta = saga.eta_days.unwrap_or(0);
                Transition {
                    state: SagaState::Pending,
                    answer: pending_answer(id.as_str(), pending_result(order, &carrier, eta)),
                    tasks: vec![Task::RecordOrder(
                        Box::new(order.clone()),
                        cart,
                        carrier,
                        eta,
                    )],
                }
            }
            None => failed(vec![Task::VoidCharge(id.clone()), Task::ReleaseStock(id)]),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saga(stage: Option<&str>) -> SagaRecord {
        SagaRecord {
            checkout_id: "co-1".into(),
            cart_id: "cart-1".into(),
            country: "DE".into(),
            state: SagaState::Running,
            stage: stage.map(str::to_owned),
            order: None,
            carrier: None,
            eta_days: None,
            answer: None,
        }
    }

    fn names(t: &Transition) -> Vec<&'static str> {
        t.tasks.iter().map(Task::name).collect()
    }

    #[test]
    fn a_saga_is_undone_as_far_as_it_got() {
        for (stage, tasks) in [
            (None, vec![]),
            (Some("read_cart"), vec![]),
            (Some("price_items"), vec![]),
            (Some("reserve_stock"), vec!["release_stock"]),
            (Some("quote_shipping"), vec!["release_stock"]),
            (Some("charge_payment"), vec!["void_charge", "release_stock"]),
            // The intent without the order cannot be finished: undone.
            (Some("record_order"), vec!["void_charge", "release_stock"]),
        ] {
            let t = recovery(&saga(stage));
            assert_eq!(t.state, SagaState::Failed, "{stage:?}");
            assert_eq!(names(&t), tasks, "{stage:?}");
            assert_eq!(t.answer.status, 409);
        }
    }

    #[test]
    fn a_saga_whose_order_may_exist_is_finished() {
        let money = apiary_wire::Money {
            amount_minor: 100,
            currency: apiary_wire::Currency::EUR,
        };
        let mut s = saga(Some("record_order"));
        s.order = Some(apiary_wire::shop::NewOrder {
            order_id: "co-1".into(),
            cart_id: "cart-1".into(),
            lines: Vec::new(),
            shipping: money,
            total: money,
            charge_id: "ch_1".into(),
            reservation_id: "co-1".into(),
            quote_id: "q_1".into(),
        });
        s.carrier = Some("DHL".into());
        let t = recovery(&s);
        assert_eq!(t.state, SagaState::Pending);
        assert_eq!(names(&t), vec!["record_order"]);
        assert_eq!(t.answer.status, 202);
    }
}
