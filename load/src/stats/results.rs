//! What the recorder reports: the per-second [`Point`]s, the slowest requests, the live
//! [`Totals`], and the [`Results`] of a run (per step and per journey, as [`Quantiles`]).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

/// One second of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Seconds since the run started (end of the interval).
    pub t: f64,
    /// Target journeys per second at the end of the interval.
    pub offered_rate: f64,
    pub journeys_started: u64,
    pub journeys_not_started: u64,
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// A slow request and the trace the target recorded for it.
#[derive(Debug, Clone, Serialize)]
pub struct SlowRequest {
    pub step: &'static str,
    pub latency_ms: f64,
    pub status: Option<u16>,
    pub trace_id: Option<String>,
    /// Seconds since the run started.
    pub at: f64,
}

/// Live counters for the progress bar and `GET /status`.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub journeys_started: u64,
    pub journeys_not_started: u64,
    pub journeys_in_flight: u64,
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Quantiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Quantiles {
    pub(super) fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            mean: h.mean() / 1000.0,
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub step: &'static str,
    pub requests: u64,
    pub ok: u64,
    /// Expected refusals by HTTP status.
    pub rejected: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    pub skipped: u64,
    /// From the intended start (corrected).
    pub latency_ms: Quantiles,
    /// From the write to the socket (uncorrected, for comparison).
    pub service_time_ms: Quantiles,
}

#[derive(Debug, Clone, Serialize)]
pub struct JourneyResult {
    pub journey: String,
    pub started: u64,
    pub completed: u64,
    pub failed: u64,
    pub cut_short: u64,
    /// Time the shopper spent waiting for answers (think times excluded).
    pub active_ms: Quantiles,
}

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub elapsed_s: f64,
    pub journeys_started: u64,
    pub journeys_not_started: u64,
    pub requests: u64,
    pub errors: u64,
    pub achieved_journey_rate: f64,
    pub achieved_request_rate: f64,
    pub errors_by_class: BTreeMap<String, u64>,
    pub latency_ms: Quantiles,
    pub service_time_ms: Quantiles,
    pub steps: Vec<StepResult>,
    pub journeys: Vec<JourneyResult>,
    pub slowest: Vec<SlowRequest>,
    pub series: Vec<Point>,
}
