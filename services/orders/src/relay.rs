//! The outbox relay: publishes unsent outbox rows to the broker, oldest first, each with a
//! publisher confirm, and marks a row sent only after its confirm. A publish that fails ends the
//! session (the broker link reconnects with backoff) and the row is tried again — so an event is
//! published at least once and never lost; consumers' inboxes make the repeats harmless.
//!
//! It wakes when an order is placed (a [`Notify`] from the route) and every second regardless
//! (rows written before a restart, or while the broker was away).

use std::sync::Arc;
use std::time::Duration;

use apiary_bus::{Broker, PublishError, Publisher};
use tokio::sync::Notify;

use crate::store::{OrderStore, OrdersError};

/// Rows read per round.
const BATCH: u32 = 64;
/// How long the relay sleeps when there is nothing to send and nobody woke it.
const IDLE: Duration = Duration::from_secs(1);

/// Why a relay session ended (it starts again after the link's backoff).
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Amqp(#[from] apiary_bus::lapin::Error),
    #[error("the outbox cannot be read: {0}")]
    Store(#[from] OrdersError),
}

/// Publishes the outbox through `broker` until the task is dropped.
pub async fn run(store: OrderStore, broker: Broker, wake: Arc<Notify>) {
    broker
        .supervise("outbox-relay", move |connection| {
            let store = store.clone();
            let wake = wake.clone();
            async move {
                let publisher = Publisher::open(&connection, crate::SERVICE.name).await?;
                loop {
                    let sent = drain(&store, &publisher).await?;
                    if sent == 0 {
                        let _ = tokio::time::timeout(IDLE, wake.notified()).await;
                    }
                }
                #[allow(unreachable_code)]
                Ok::<(), RelayError>(())
            }
        })
        .await;
}

/// Publishes one batch; how many rows it sent.
async fn drain(store: &OrderStore, publisher: &Publisher) -> Result<usize, RelayError> {
    let pending = store.pending(BATCH).await?;
    for row in &pending {
        publisher.publish(&row.message).await?;
        store.mark_sent(row.seq, apiary_store::now_ms()).await?;
    }
    Ok(pending.len())
}

/// Keeps the backlog gauges current (every second) and prunes old sent rows (every minute),
/// with or without a broker.
pub async fn watch_backlog(store: OrderStore) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        let now = apiary_store::now_ms();
        if let Ok(backlog) = store.backlog().await {
            #[allow(clippy::cast_precision_loss)] // ages far below 2^52 ms
            let age_s = backlog
                .oldest_ms
                .map_or(0.0, |oldest| (now - oldest).max(0) as f64 / 1000.0);
            apiary_bus::metrics::outbox(crate::SERVICE.name, backlog.unsent, age_s);
        }
        if ticks.is_multiple_of(60) {
            let _ = store.prune_sent(now - crate::outbox::KEEP_SENT_MS).await;
        }
        ticks = ticks.wrapping_add(1);
    }
}
