//! The `apiary_load_*` Prometheus metrics: their names and descriptions, and the handles the
//! recorder registers once per step and per journey name.

use apiary_telemetry::metrics;

use super::JourneyEnd;

pub const REQUEST_DURATION: &str = "apiary_load_request_duration_seconds";

/// Metric handles, registered once per journey name (a lookup per journey would cost more
/// than the rest of the bookkeeping at benchmark rates).
pub(super) struct JourneyMetrics {
    pub(super) started: metrics::Counter,
    pub(super) completed: metrics::Counter,
    pub(super) failed: metrics::Counter,
    pub(super) cut_short: metrics::Counter,
}

impl JourneyMetrics {
    pub(super) fn new(name: &str) -> Self {
        let finished = |end: JourneyEnd| metrics::counter!("apiary_load_journeys_finished_total", "journey" => name.to_owned(), "outcome" => end.label());
        Self {
            started: metrics::counter!("apiary_load_journeys_started_total", "journey" => name.to_owned()),
            completed: finished(JourneyEnd::Completed),
            failed: finished(JourneyEnd::Failed),
            cut_short: finished(JourneyEnd::CutShort),
        }
    }
}

pub(super) struct StepMetrics {
    pub(super) duration: metrics::Histogram,
    pub(super) ok: metrics::Counter,
    pub(super) rejected: metrics::Counter,
    pub(super) error: metrics::Counter,
    pub(super) skipped: metrics::Counter,
}

impl StepMetrics {
    pub(super) fn new(step: &'static str) -> Self {
        let requests = |outcome: &'static str| metrics::counter!("apiary_load_requests_total", "step" => step, "outcome" => outcome);
        StepMetrics {
            duration: metrics::histogram!(REQUEST_DURATION, "step" => step),
            ok: requests("ok"),
            rejected: requests("rejected"),
            error: requests("error"),
            skipped: metrics::counter!("apiary_load_steps_skipped_total", "step" => step),
        }
    }
}

pub(super) fn describe_metrics() {
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Latency of the load generator's requests by step, from the intended start (corrected for coordinated omission)."
    );
    metrics::describe_counter!(
        "apiary_load_requests_total",
        "Requests sent, by step and outcome (ok, rejected = an expected business refusal, error)."
    );
    metrics::describe_counter!(
        "apiary_load_errors_total",
        "Failed requests by step and class: http_<status>, timeout, connection, malformed_response."
    );
    metrics::describe_counter!(
        "apiary_load_journeys_started_total",
        "Shopper journeys started, by journey."
    );
    metrics::describe_counter!(
        "apiary_load_journeys_not_started_total",
        "Journeys that were due but could not start (in-flight cap reached)."
    );
    metrics::describe_counter!(
        "apiary_load_journeys_finished_total",
        "Journeys finished, by journey and outcome (completed, failed, cut_short)."
    );
    metrics::describe_counter!(
        "apiary_load_steps_skipped_total",
        "Steps skipped because the session could not do them (no cart, empty cart, no order)."
    );
    metrics::describe_gauge!(
        "apiary_load_offered_rate",
        "Target journey arrival rate (journeys per second)."
    );
    metrics::describe_gauge!(
        "apiary_load_achieved_rate",
        "Journeys actually started per second over the last second."
    );
    metrics::describe_gauge!(
        "apiary_load_request_rate",
        "Requests completed per second over the last second."
    );
    metrics::describe_gauge!("apiary_load_journeys_in_flight", "Journeys under way.");
    metrics::describe_gauge!("apiary_load_paused", "1 while the load is paused.");
}
