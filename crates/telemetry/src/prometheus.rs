//! The process-wide Prometheus recorder and the `/metrics` handler.
//!
//! The `metrics` facade has one global recorder per process, so it is installed once, on first
//! use, by whichever comes first: [`crate::init`], a test, or the first `/metrics` request. That
//! keeps handlers and tests free of set-up order.

use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Bucket bounds (seconds) for the HTTP duration histograms: the OTel semantic-convention
/// advice (5 ms to 10 s, so multi-second timeouts resolve) plus the bounds the shop's real
/// latencies need: most of its requests take well under a millisecond to a few milliseconds,
/// which the advice's first bucket (0-5 ms) lumped together — every fast service showed a p95
/// of "4.8 ms", interpolated inside it — and checkout's 25-50 ms saga and payment sat in one
/// 25 ms-wide bucket. Quantiles are interpolated inside a bucket (as `histogram_quantile`
/// does), so a percentile is accurate to its bucket: at most 1.5x wide from 0.25 ms to 150 ms.
pub const HTTP_DURATION_BUCKETS: &[f64] = &[
    0.000_25, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.035, 0.05, 0.075, 0.1,
    0.15, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
/// Unix seconds when this process installed its recorder (its start, for a scraper).
static STARTED: OnceLock<f64> = OnceLock::new();

/// The recorder's handle, installing the recorder if nobody has yet.
///
/// If another recorder was installed by someone else (never in Apiary's binaries), metrics go
/// there and this handle renders an empty page rather than failing the service.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("_request_duration_seconds".to_owned()),
                HTTP_DURATION_BUCKETS,
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        STARTED.get_or_init(unix_now);
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Err means a recorder already exists: keep ours for rendering, as documented above.
        let _ = metrics::set_global_recorder(recorder);
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_histogram!(
        crate::semconv::SERVER_DURATION,
        metrics::Unit::Seconds,
        "Duration of HTTP server requests."
    );
    metrics::describe_histogram!(
        crate::semconv::CLIENT_DURATION,
        metrics::Unit::Seconds,
        "Duration of HTTP client requests."
    );
    metrics::describe_gauge!(
        START_TIME,
        metrics::Unit::Seconds,
        "Start time of the process since the Unix epoch."
    );
    metrics::describe_counter!(
        crate::export_queue::EXPORTED,
        "Telemetry items (spans, log records) exported over OTLP."
    );
    metrics::describe_counter!(
        crate::export_queue::DROPPED,
        "Telemetry items lost, by reason: queue_full, export_failed, shutdown."
    );
    metrics::describe_counter!(
        crate::export_queue::FAILED_EXPORTS,
        "OTLP export calls that failed after the exporter's retries."
    );
}

/// The process's resident memory (the standard Prometheus process-collector name), set on
/// every scrape.
pub const RESIDENT_MEMORY: &str = "process_resident_memory_bytes";

/// When the process started, in Unix seconds (the standard Prometheus process-collector
/// name). A scraper that sees it change knows the process restarted between two scrapes, even
/// when the restart was too quick for any probe to find it down.
pub const START_TIME: &str = "process_start_time_seconds";

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Renders the current metrics in the Prometheus text format.
pub fn render() -> String {
    let handle = handle();
    metrics::gauge!(START_TIME).set(*STARTED.get_or_init(unix_now));
    // The recorder only drops aged histogram samples when asked to; do it on every scrape.
    handle.run_upkeep();
    if let Some(bytes) = resident_bytes() {
        metrics::gauge!(RESIDENT_MEMORY).set(bytes as f64);
    }
    handle.render()
}

/// The process's resident memory, from `/proc/self/statm` (Linux; None elsewhere). Read by
/// hand: one line of one file, where a process-metrics crate would add a dependency tree.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|p| u64::try_from(p).ok())
        .unwrap_or(4096);
    Some(pages * page)
}

/// `GET /metrics`.
pub async fn metrics_handler() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start_time(page: &str) -> f64 {
        page.lines()
            .find_map(|l| l.strip_prefix("process_start_time_seconds "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no start time in:\n{page}"))
    }

    #[test]
    fn the_start_time_is_exported_and_stays_put_between_scrapes() {
        let first = start_time(&render());
        let now = unix_now();
        assert!(
            first > 1.0e9 && first <= now,
            "start {first} is a past Unix time (now {now})"
        );
        assert_eq!(
            start_time(&render()),
            first,
            "the same process, the same start"
        );
    }
}
