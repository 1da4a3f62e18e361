//! The recorder every request and journey reports to: HdrHistograms per step and journey,
//! counts by outcome and error class, the window the per-second tick closes, the slowest
//! requests with their trace ids.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apiary_telemetry::metrics;
use hdrhistogram::Histogram;

use super::metrics::{JourneyMetrics, StepMetrics, describe_metrics};
use super::outcome::{ErrorClass, JourneyEnd, Outcome};
use super::results::{JourneyResult, Point, Quantiles, Results, SlowRequest, StepResult, Totals};
use crate::profile::Action;

/// Histograms hold microseconds from 1 µs to 1 h at 3 significant digits (0.1% resolution).
const HIGHEST_US: u64 = 3_600_000_000;

fn histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, HIGHEST_US, 3) {
        Ok(h) => h,
        // The bounds are constants hdrhistogram accepts (low >= 1, high >= 2 * low, 3 digits).
        Err(e) => unreachable!("constant histogram bounds refused: {e}"),
    }
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, HIGHEST_US)
}

struct StepStats {
    latency: Histogram<u64>,
    service: Histogram<u64>,
    ok: u64,
    skipped: u64,
    rejected: BTreeMap<u16, u64>,
    errors: BTreeMap<ErrorClass, u64>,
}

struct JourneyStats {
    started: u64,
    completed: u64,
    failed: u64,
    cut_short: u64,
    /// Time spent waiting for answers (sum of the steps' corrected latencies).
    active: Histogram<u64>,
    metrics: JourneyMetrics,
}

/// Since the last tick: what the progress bar and the time series show.
struct Window {
    latency: Histogram<u64>,
    requests: u64,
    errors: u64,
}

const SLOWEST_KEPT: usize = 10;
/// A day of one-second points; older ones are dropped on `forever` runs.
const SERIES_CAP: usize = 86_400;

pub struct Recorder {
    /// When measuring began (reset once the catalog is read and the first journey is due).
    t0: Mutex<Instant>,
    steps: Vec<Mutex<StepStats>>,
    journeys: Mutex<BTreeMap<String, JourneyStats>>,
    window: Mutex<Window>,
    series: Mutex<VecDeque<Point>>,
    slowest: Mutex<Vec<SlowRequest>>,
    started: AtomicU64,
    not_started: AtomicU64,
    in_flight: AtomicI64,
    requests: AtomicU64,
    errors: AtomicU64,
    /// Counter values at the previous tick, for per-second deltas.
    last_tick: Mutex<(u64, u64)>,
    step_metrics: Vec<StepMetrics>,
    not_started_metric: metrics::Counter,
    /// The latency (µs) a request must exceed to enter the slowest list, checked before
    /// taking its lock.
    slow_floor_us: AtomicU64,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    pub fn new() -> Self {
        // The metric handles below bind to the recorder installed when they are made: make
        // sure it is the Prometheus one (tests build a Recorder without `init`).
        apiary_telemetry::prometheus::handle();
        describe_metrics();
        let steps = Action::ALL
            .iter()
            .map(|_| {
                Mutex::new(StepStats {
                    latency: histogram(),
                    service: histogram(),
                    ok: 0,
                    skipped: 0,
                    rejected: BTreeMap::new(),
                    errors: BTreeMap::new(),
                })
            })
            .collect();
        let step_metrics = Action::ALL
            .iter()
            .map(|a| StepMetrics::new(a.name()))
            .collect();
        Self {
            t0: Mutex::new(Instant::now()),
            steps,
            journeys: Mutex::new(BTreeMap::new()),
            window: Mutex::new(Window {
                latency: histogram(),
                requests: 0,
                errors: 0,
            }),
            series: Mutex::new(VecDeque::new()),
            slowest: Mutex::new(Vec::new()),
            started: AtomicU64::new(0),
            not_started: AtomicU64::new(0),
            in_flight: AtomicI64::new(0),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            last_tick: Mutex::new((0, 0)),
            step_metrics,
            not_started_metric: metrics::counter!("apiary_load_journeys_not_started_total", "reason" => "max_in_flight"),
            slow_floor_us: AtomicU64::new(0),
        }
    }

    /// Restarts the clock the time series is measured from (after the catalog is fetched).
    pub fn restart_clock(&self) {
        *lock(&self.t0) = Instant::now();
    }

    pub fn elapsed(&self) -> Duration {
        lock(&self.t0).elapsed()
    }

    pub fn journey_started(&self, name: &str) {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let mut journeys = lock(&self.journeys);
        match journeys.get_mut(name) {
            Some(j) => {
                j.started += 1;
                j.metrics.started.increment(1);
            }
            None => {
                let metrics = JourneyMetrics::new(name);
                metrics.started.increment(1);
                journeys.insert(
                    name.to_owned(),
                    JourneyStats {
                        started: 1,
                        completed: 0,
                        failed: 0,
                        cut_short: 0,
                        active: histogram(),
                        metrics,
                    },
                );
            }
        }
    }

    /// A journey was due but the in-flight cap was reached.
    pub fn journey_not_started(&self) {
        self.journeys_not_started(1);
    }

    /// `n` arrivals refused at once (the scheduler counts a backlog in one pass).
    pub fn journeys_not_started(&self, n: u64) {
        if n > 0 {
            self.not_started.fetch_add(n, Ordering::Relaxed);
            self.not_started_metric.increment(n);
        }
    }

    pub fn journey_finished(&self, name: &str, end: JourneyEnd, active: Duration) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let mut journeys = lock(&self.journeys);
        if let Some(j) = journeys.get_mut(name) {
            match end {
                JourneyEnd::Completed => {
                    j.completed += 1;
                    j.metrics.completed.increment(1);
                }
                JourneyEnd::Failed => {
                    j.failed += 1;
                    j.metrics.failed.increment(1);
                }
                JourneyEnd::CutShort => {
                    j.cut_short += 1;
                    j.metrics.cut_short.increment(1);
                }
            }
            j.active.saturating_record(micros(active));
        }
    }

    pub fn step_skipped(&self, action: Action) {
        lock(&self.steps[action.index()]).skipped += 1;
        self.step_metrics[action.index()].skipped.increment(1);
    }

    /// Records one request: `latency` from its intended start, `service` from its write.
    pub fn request(
        &self,
        action: Action,
        latency: Duration,
        service: Duration,
        outcome: Outcome,
        status: Option<u16>,
        traceresponse: Option<&http::HeaderValue>,
    ) {
        let us = micros(latency);
        let is_error = matches!(outcome, Outcome::Error(_));
        self.requests.fetch_add(1, Ordering::Relaxed);
        if is_error {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let m = &self.step_metrics[action.index()];
        m.duration.record(latency.as_secs_f64());
        match outcome {
            Outcome::Ok => m.ok.increment(1),
            Outcome::Rejected(_) => m.rejected.increment(1),
            Outcome::Error(class) => {
                m.error.increment(1);
                metrics::counter!("apiary_load_errors_total", "step" => action.name(), "class" => class.label())
                    .increment(1);
            }
        }
        {
            let mut s = lock(&self.steps[action.index()]);
            s.latency.saturating_record(us);
            s.service.saturating_record(micros(service));
            match outcome {
                Outcome::Ok => s.ok += 1,
                Outcome::Rejected(status) => *s.rejected.entry(status).or_default() += 1,
                Outcome::Error(class) => *s.errors.entry(class).or_default() += 1,
            }
        }
        {
            let mut w = lock(&self.window);
            w.latency.saturating_record(us);
            w.requests += 1;
            if is_error {
                w.errors += 1;
            }
        }
        self.keep_if_slow(action, latency, status, traceresponse);
    }

    fn keep_if_slow(
        &self,
        action: Action,
        latency: Duration,
        status: Option<u16>,
        traceresponse: Option<&http::HeaderValue>,
    ) {
        if micros(latency) <= self.slow_floor_us.load(Ordering::Relaxed) {
            return;
        }
        let ms = latency.as_secs_f64() * 1000.0;
        let mut slowest = lock(&self.slowest);
        if slowest.len() >= SLOWEST_KEPT && slowest.last().is_some_and(|s| s.latency_ms >= ms) {
            return;
        }
        slowest.push(SlowRequest {
            step: action.name(),
            latency_ms: ms,
            status,
            trace_id: traceresponse.and_then(trace_id_of),
            at: self.elapsed().as_secs_f64(),
        });
        slowest.sort_by(|a, b| b.latency_ms.total_cmp(&a.latency_ms));
        slowest.truncate(SLOWEST_KEPT);
        if slowest.len() >= SLOWEST_KEPT
            && let Some(last) = slowest.last()
        {
            self.slow_floor_us
                .store((last.latency_ms * 1000.0) as u64, Ordering::Relaxed);
        }
    }

    /// Closes the current one-second interval: appends a point to the series, updates the
    /// rate gauges. Called once a second by the engine's ticker.
    pub fn tick(&self, offered_rate: f64, interval: Duration) -> Point {
        let (requests, errors, p50, p90, p99, max) = {
            let mut w = lock(&self.window);
            let q = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
            let r = (
                w.requests,
                w.errors,
                q(&w.latency, 0.5),
                q(&w.latency, 0.9),
                q(&w.latency, 0.99),
                w.latency.max() as f64 / 1000.0,
            );
            w.latency.reset();
            w.requests = 0;
            w.errors = 0;
            r
        };
        let started = self.started.load(Ordering::Relaxed);
        let not_started = self.not_started.load(Ordering::Relaxed);
        let (d_started, d_not) = {
            let mut last = lock(&self.last_tick);
            let d = (
                started.saturating_sub(last.0),
                not_started.saturating_sub(last.1),
            );
            *last = (started, not_started);
            d
        };
        let secs = interval.as_secs_f64().max(1e-3);
        metrics::gauge!("apiary_load_offered_rate").set(offered_rate);
        metrics::gauge!("apiary_load_achieved_rate").set(d_started as f64 / secs);
        metrics::gauge!("apiary_load_request_rate").set(requests as f64 / secs);
        metrics::gauge!("apiary_load_journeys_in_flight").set(self.in_flight() as f64);
        let point = Point {
            t: self.elapsed().as_secs_f64(),
            offered_rate,
            journeys_started: d_started,
            journeys_not_started: d_not,
            requests,
            errors,
            p50_ms: p50,
            p90_ms: p90,
            p99_ms: p99,
            max_ms: max,
        };
        let mut series = lock(&self.series);
        if series.len() >= SERIES_CAP {
            series.pop_front();
        }
        series.push_back(point.clone());
        point
    }

    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn totals(&self) -> Totals {
        let (p50, p99) = {
            let mut all = histogram();
            for s in &self.steps {
                let _ = all.add(&lock(s).latency);
            }
            (
                all.value_at_quantile(0.5) as f64 / 1000.0,
                all.value_at_quantile(0.99) as f64 / 1000.0,
            )
        };
        Totals {
            journeys_started: self.started.load(Ordering::Relaxed),
            journeys_not_started: self.not_started.load(Ordering::Relaxed),
            journeys_in_flight: self.in_flight().max(0) as u64,
            requests: self.requests.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            p50_ms: p50,
            p99_ms: p99,
        }
    }

    /// Everything measured so far, for the summary table, `--output` and `GET /status`.
    pub fn results(&self) -> Results {
        let mut all_latency = histogram();
        let mut all_service = histogram();
        let mut errors_by_class: BTreeMap<String, u64> = BTreeMap::new();
        let mut steps = Vec::new();
        for action in Action::ALL {
            let s = lock(&self.steps[action.index()]);
            let count = s.latency.len();
            if count == 0 && s.skipped == 0 {
                continue;
            }
            let _ = all_latency.add(&s.latency);
            let _ = all_service.add(&s.service);
            for (class, n) in &s.errors {
                *errors_by_class.entry(class.label()).or_default() += n;
            }
            steps.push(StepResult {
                step: action.name(),
                requests: count,
                ok: s.ok,
                rejected: s
                    .rejected
                    .iter()
                    .map(|(k, v)| (k.to_string(), *v))
                    .collect(),
                errors: s.errors.iter().map(|(k, v)| (k.label(), *v)).collect(),
                skipped: s.skipped,
                latency_ms: Quantiles::of(&s.latency),
                service_time_ms: Quantiles::of(&s.service),
            });
        }
        let journeys = lock(&self.journeys)
            .iter()
            .map(|(name, j)| JourneyResult {
                journey: name.clone(),
                started: j.started,
                completed: j.completed,
                failed: j.failed,
                cut_short: j.cut_short,
                active_ms: Quantiles::of(&j.active),
            })
            .collect();
        let elapsed = self.elapsed().as_secs_f64();
        let totals = self.totals();
        Results {
            elapsed_s: elapsed,
            journeys_started: totals.journeys_started,
            journeys_not_started: totals.journeys_not_started,
            requests: totals.requests,
            errors: totals.errors,
            achieved_journey_rate: totals.journeys_started as f64 / elapsed.max(1e-3),
            achieved_request_rate: totals.requests as f64 / elapsed.max(1e-3),
            errors_by_class,
            latency_ms: Quantiles::of(&all_latency),
            service_time_ms: Quantiles::of(&all_service),
            steps,
            journeys,
            slowest: lock(&self.slowest).clone(),
            series: lock(&self.series).iter().cloned().collect(),
        }
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding a stats lock leaves counts that are still counts.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The trace id out of a `traceresponse` value (`00-<trace id>-<span id>-<flags>`).
fn trace_id_of(value: &http::HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let mut parts = s.split('-');
    let _version = parts.next()?;
    let trace = parts.next()?;
    (trace.len() == 32 && trace.bytes().all(|b| b.is_ascii_hexdigit())).then(|| trace.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_land_in_their_step_and_class() {
        let r = Recorder::new();
        let ms = Duration::from_millis;
        r.journey_started("browse");
        r.request(
            Action::Landing,
            ms(10),
            ms(10),
            Outcome::Ok,
            Some(200),
            None,
        );
        r.request(
            Action::Checkout,
            ms(90),
            ms(5),
            Outcome::Rejected(402),
            Some(402),
            None,
        );
        r.request(
            Action::Checkout,
            ms(30),
            ms(30),
            Outcome::Error(ErrorClass::Status(503)),
            Some(503),
            Some(&http::HeaderValue::from_static(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )),
        );
        r.journey_finished("browse", JourneyEnd::Failed, ms(130));
        let res = r.results();
        assert_eq!(res.requests, 3);
        assert_eq!(res.errors, 1);
        assert_eq!(res.errors_by_class.get("http_503"), Some(&1));
        let checkout = res.steps.iter().find(|s| s.step == "checkout");
        assert_eq!(
            checkout.map(|c| c.rejected.get("402").copied()),
            Some(Some(1))
        );
        assert_eq!(res.journeys[0].failed, 1);
        assert_eq!(res.slowest[0].latency_ms, 90.0);
        assert_eq!(
            res.slowest[1].trace_id.as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }
}
