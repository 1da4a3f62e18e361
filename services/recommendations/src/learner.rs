//! The learner: a background task that polls the orders feed and teaches the model.
//!
//! Recommendations are optional on the product page and must never wait for, or fail with, the
//! orders service. So learning is decoupled from serving: requests only read the model, and
//! this task is the only thing that calls orders. When orders is down, slow or answers
//! nonsense, the model simply stops growing; the next tick tries again (the HTTP client's
//! circuit breaker spaces out calls to a peer that keeps failing). One warning is logged per
//! failure streak, and one line when it ends, so a long outage does not flood the logs.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use apiary_chassis::DownstreamError;
use apiary_telemetry::metrics::gauge;

use crate::clients::OrdersClient;
use crate::clients::orders::PAGE_SIZE;
use crate::model::Model;

/// Pages read per tick at most: catching up on a long backlog is spread over ticks instead of
/// monopolising the orders service.
const MAX_PAGES_PER_TICK: usize = 20;

/// Tracks consecutive failures so only the first of a streak is logged as a warning.
#[derive(Debug, Default)]
pub struct FailureStreak {
    failures: u32,
}

impl FailureStreak {
    /// Records a failure; true when it starts a streak (log it).
    pub fn failed(&mut self) -> bool {
        self.failures = self.failures.saturating_add(1);
        self.failures == 1
    }

    /// Records a success; the length of the streak it ends, if any.
    pub fn succeeded(&mut self) -> Option<u32> {
        let ended = std::mem::take(&mut self.failures);
        (ended > 0).then_some(ended)
    }
}

#[derive(Debug)]
pub struct Learner {
    client: OrdersClient,
    model: Arc<RwLock<Model>>,
    streak: FailureStreak,
}

impl Learner {
    pub fn new(client: OrdersClient, model: Arc<RwLock<Model>>) -> Self {
        Self {
            client,
            model,
            streak: FailureStreak::default(),
        }
    }

    /// Polls every `every` until dropped.
    pub async fn run(mut self, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        // A slow orders service must not cause a burst of catch-up polls afterwards.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.tick().await;
        }
    }

    /// One poll: reads new orders page by page (bounded), learns them, records the outcome.
    pub async fn tick(&mut self) {
        match self.catch_up().await {
            Ok(learned) => {
                if let Some(failures) = self.streak.succeeded() {
                    tracing::info!(failures, "orders feed answering again; learning resumed");
                }
                if learned > 0 {
                    tracing::debug!(learned, "learned orders from the feed");
                }
            }
            Err(err) => {
                if self.streak.failed() {
                    tracing::warn!(
                        error = %err,
                        kind = err.kind(),
                        "orders feed unavailable; serving what is learned so far and retrying each tick"
                    );
                }
            }
        }
    }

    async fn catch_up(&self) -> Result<usize, DownstreamError> {
        let mut learned = 0;
        for _ in 0..MAX_PAGES_PER_TICK {
            let cursor = self.read_cursor();
            let page = self.client.feed(cursor, PAGE_SIZE).await?;
            let full = page.items.len() >= PAGE_SIZE;
            let (moved, total) = {
                let mut model = self.model.write().unwrap_or_else(|p| p.into_inner());
                learned += model.learn(&page.items, page.last_seq);
                (model.cursor() > cursor, model.orders_learned())
            };
            gauge!(crate::metrics::ORDERS_LEARNED).set(total as f64);
            // Stop at the end of the feed, or if a full page did not move us on (a feed that
            // ignores after_seq would otherwise loop here).
            if !full || !moved {
                break;
            }
        }
        Ok(learned)
    }

    fn read_cursor(&self) -> i64 {
        self.model
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .cursor()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_failure_of_a_streak_is_reported() {
        let mut streak = FailureStreak::default();
        assert_eq!(streak.succeeded(), None);
        assert!(streak.failed());
        assert!(!streak.failed());
        assert!(!streak.failed());
        assert_eq!(streak.succeeded(), Some(3));
        assert_eq!(streak.succeeded(), None);
        assert!(streak.failed());
    }
}
