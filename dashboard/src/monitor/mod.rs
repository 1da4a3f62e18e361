//! The scrape loop (twice a second): scrape every target's `/metrics`, probe its
//! `/health/ready`, keep 1-second RED series for 15 minutes, judge health, derive topology and business KPIs, and
//! publish one immutable [`Snapshot`] that the API and the event stream read.
//!
//! # Layout
//! - `scrape` — the loop ([`run`]): each [`Target`]'s `/metrics` scraped and `/health/ready`
//!   probed ([`NotReady`], [`ScrapeError`]), restarts noticed, a snapshot published per tick;
//!   [`targets_from_manifest`].
//! - `series` — the 1-second RED series a target keeps for 15 minutes, and the rates over its
//!   newest points.
//! - `health` — [`judge`]: up, degraded, down or unknown, and why ([`Thresholds`],
//!   [`Restarted`]).
//! - `snapshot` — [`Snapshot`]: what one tick publishes, built from every target's state (RED
//!   from spans for targets without `/metrics`).
//! - `business` — [`business`]: the shop's KPIs from a minute of `shop_*` counter changes.
//! - `topology` — the service graph from the last minute of spans.
//! - `annotations` — [`Annotations`]: fault and drill windows, as snapshots show them.
//! - `messaging` — [`MessagingWatch`]: queues (depth, consumers, dead letters from the broker's
//!   metrics; rate and lag from the consumers'), outbox backlogs, consumers falling behind.
//! - `cause` — [`CauseWatch`]: the probable cause of what is red (symptoms, ranked causes
//!   along the call graph and the asynchronous half, span attributes over-represented in bad
//!   spans, recent changes), once a second into the snapshot.
//! - `slo` — each service's availability and latency SLO, live: burn rates over 30 s to 6 h,
//!   the error budget left, the multi-window burn alerts (the Prometheus rules' windows).
//!
//! The view types (what the API writes) are `dashboard_api`'s, re-exported here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use dashboard_api::{
    Business, Edge, FaultWindow, Health, InstanceView, Latency, Messaging, Node, QueueView,
    RouteView, SeriesPoint, ServiceDetail, ServiceView, Source, StoreStats, Topology,
};

mod annotations;
mod business;
mod cause;
mod health;
mod messaging;
mod scrape;
mod series;
mod slo;
mod snapshot;
mod topology;

pub use annotations::Annotations;
pub use business::business;
pub use cause::{CauseWatch, History, diagnose};
pub use health::{Restarted, Thresholds, judge};
pub use messaging::{MessagingWatch, QueueStats};
pub use scrape::{NotReady, ScrapeError, Target, instances_for, run, targets_from_manifest};
pub use slo::budget_spent_30d;
pub use snapshot::Snapshot;

/// 15 minutes of one-second points.
pub const SERIES_LEN: usize = 900;
/// How long a scrape or readiness probe may take before it counts as failed.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(800);
/// The length of one series point (see `series::push_interval`), whatever the scrape interval.
pub const POINT_SECS: f64 = 1.0;
/// RED "now" is the last few seconds, so one slow request does not flip a tile.
pub const WINDOW_POINTS: usize = 5;
/// Topology and span-derived RED look this far back.
pub const SPAN_WINDOW: Duration = Duration::from_secs(60);

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
