//! The background sweeper: releases holds whose time ran out, so stock abandoned by a checkout
//! that never committed or released (a crash, a lost compensation) returns to the shelf, and
//! refreshes the stock gauges.
//!
//! It runs once at start-up (holds may have expired while the service was down) and then every
//! `INVENTORY_SWEEP_MS`. A failed sweep is logged and retried on the next tick.

use std::time::Duration;

use crate::metrics::{self, Outcome};
use crate::store::{InventoryStore, SWEEP_BATCH};

/// Sweeps forever; the caller aborts the task at shutdown (a sweep in progress still commits
/// or rolls back as a whole: it is one transaction on the blocking pool).
pub async fn run(store: InventoryStore, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        sweep(&store).await;
    }
}

/// One sweep: expire what is due (in batches, until none is left), then refresh the gauges.
/// Returns how many holds it released.
pub async fn sweep(store: &InventoryStore) -> usize {
    let mut released = 0;
    loop {
        match store.expire_due(apiary_store::now_ms()).await {
            Ok(ids) => {
                let n = ids.len();
                if n > 0 {
                    metrics::reservations(Outcome::Expired, u64::try_from(n).unwrap_or(u64::MAX));
                    tracing::info!(
                        expired = n,
                        first = %ids[0],
                        "released reservations whose hold expired"
                    );
                }
                released += n;
                if n < SWEEP_BATCH {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "sweep failed; retrying on the next tick");
                break;
            }
        }
    }
    match store.totals().await {
        Ok(totals) => metrics::levels(&totals),
        Err(e) => tracing::warn!(error = %e, "cannot refresh the stock gauges"),
    }
    released
}
