//! The scrape loop (twice a second): scrape every target's `/metrics`, probe its
//! `/health/ready`, keep 1-second RED series for 15 minutes, judge health, derive topology and business KPIs, and
//! publish one immutable [`Snapshot`] that the API and the event stream read.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::watch;

pub use dashboard_api::{
    Business, Edge, FaultWindow, Health, Latency, Node, RouteView, SeriesPoint, ServiceDetail,
    ServiceView, Source, StoreStats, Topology,
};

use crate::model::SpanKind;
use crate::red::{self, Delta, Interval, Scraped};
use crate::store::Store;

/// 15 minutes of one-second points.
pub const SERIES_LEN: usize = 900;
/// How long a scrape or readiness probe may take before it counts as failed.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(800);
/// The length of one series point (see [`push_interval`]), whatever the scrape interval.
pub const POINT_SECS: f64 = 1.0;
/// RED "now" is the last few seconds, so one slow request does not flip a tile.
pub const WINDOW_POINTS: usize = 5;
/// Topology and span-derived RED look this far back.
pub const SPAN_WINDOW: Duration = Duration::from_secs(60);

/// When a service counts as degraded. Documented in the dashboard README.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// 5xx share of requests at or above which a service is degraded.
    pub error_ratio: f64,
    /// p95 (ms) at or above which a service is degraded.
    pub latency_objective_ms: f64,
    /// Below this request rate the error ratio is not judged (too few requests to mean much).
    pub min_rps: f64,
    /// Resident memory (MiB) at or above which a service is degraded.
    pub memory_mib: f64,
    /// For this long (seconds) after a restart was seen, a service counts as degraded: a
    /// process that crashes and comes back within a second is up at every probe, and a crash
    /// loop would otherwise never show.
    pub restart_hold_s: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            error_ratio: 0.05,
            latency_objective_ms: 500.0,
            min_rps: 0.2,
            memory_mib: 96.0,
            restart_hold_s: 10.0,
        }
    }
}

/// A service to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub base_url: String,
}

/// Fault and drill windows, written by the control plane and read by every snapshot. Only
/// what a snapshot can show is kept: open windows, and closed ones that ended within the
/// charts' 15 minutes; older ones are dropped as new ones come and go, so a long-running
/// dashboard does not keep every fault it ever saw.
#[derive(Debug, Default)]
pub struct Annotations(std::sync::RwLock<WindowLog>);

#[derive(Debug, Default)]
struct WindowLog {
    /// The id the next window gets (ids start at 1; 0 is never given).
    last_id: usize,
    windows: VecDeque<(usize, FaultWindow)>,
}

/// Closed windows kept at most, even within 15 minutes (a flapping fault cannot grow it).
const MAX_CLOSED_WINDOWS: usize = 1_000;

impl WindowLog {
    /// Drops closed windows that ended before the charts' reach, and the oldest closed ones
    /// past [`MAX_CLOSED_WINDOWS`].
    fn prune(&mut self, now_ms: u64) {
        let since = now_ms.saturating_sub(SERIES_LEN as u64 * 1000);
        self.windows
            .retain(|(_, w)| w.end.is_none_or(|e| e >= since));
        let mut closed = self.windows.iter().filter(|(_, w)| w.end.is_some()).count();
        self.windows.retain(|(_, w)| {
            if w.end.is_some() && closed > MAX_CLOSED_WINDOWS {
                closed -= 1;
                false
            } else {
                true
            }
        });
    }
}

impl Annotations {
    /// Opens a window and returns its id.
    pub fn open(&self, window: FaultWindow) -> usize {
        let mut log = self.0.write().unwrap_or_else(|p| p.into_inner());
        log.prune(now_ms());
        log.last_id += 1;
        let id = log.last_id;
        log.windows.push_back((id, window));
        id
    }

    /// Closes the window `id` at `end` (Unix ms).
    pub fn close(&self, id: usize, end: u64) {
        let mut log = self.0.write().unwrap_or_else(|p| p.into_inner());
        if let Some((_, win)) = log.windows.iter_mut().find(|(i, _)| *i == id)
            && win.end.is_none()
        {
            win.end = Some(end);
        }
        log.prune(now_ms());
    }

    /// The windows that overlap the last 15 minutes (open ones included).
    pub fn recent(&self, now_ms: u64) -> Vec<FaultWindow> {
        let since = now_ms.saturating_sub(SERIES_LEN as u64 * 1000);
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .windows
            .iter()
            .filter(|(_, w)| w.end.is_none_or(|e| e >= since))
            .map(|(_, w)| w.clone())
            .collect()
    }

    /// Windows held (for tests).
    pub fn len(&self) -> usize {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .windows
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the monitor publishes every scrape: the API's snapshot (what the event stream sends)
/// and each service's detail (what `/api/services/{name}` answers). It reads as the API's
/// snapshot (`snap.services`, `snap.business`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub view: dashboard_api::Snapshot,
    pub details: BTreeMap<String, ServiceDetail>,
}

impl std::ops::Deref for Snapshot {
    type Target = dashboard_api::Snapshot;

    fn deref(&self) -> &Self::Target {
        &self.view
    }
}

impl Snapshot {
    pub fn empty(store: StoreStats) -> Self {
        Self {
            view: dashboard_api::Snapshot {
                at: now_ms(),
                store,
                ..dashboard_api::Snapshot::default()
            },
            details: BTreeMap::new(),
        }
    }
}

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

struct Point {
    secs: f64,
    interval: Interval,
    /// The point as the API shows it, computed once when it is added.
    view: SeriesPoint,
    routes: BTreeMap<String, SeriesPoint>,
}

impl Point {
    fn new(t_ms: u64, secs: f64, interval: Interval) -> Self {
        let view_of = |d: &Delta| {
            let (rps, error_rate) = rate(d, secs);
            SeriesPoint {
                t: t_ms,
                rps,
                error_rate,
                latency_ms: red::latency(d),
            }
        };
        let view = view_of(&interval.total);
        let routes = interval
            .routes
            .iter()
            .map(|(r, d)| (r.clone(), view_of(d)))
            .collect();
        Self {
            secs,
            interval,
            view,
            routes,
        }
    }
}

struct Watched {
    target: Target,
    previous: Option<Scraped>,
    points: VecDeque<Point>,
    last_seen: Option<u64>,
    /// Ok, or why the last probe failed; None before the first probe.
    ready: Option<Result<(), NotReady>>,
    metrics_ok: bool,
    last_scrape: Option<Instant>,
    memory: Option<f64>,
    restarts: u32,
    last_restart: Option<Instant>,
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn window(points: &VecDeque<Point>, n: usize) -> (Interval, f64) {
    let mut sum = Interval::default();
    let mut secs = 0.0;
    for p in points.iter().rev().take(n) {
        sum.add(&p.interval);
        secs += p.secs;
    }
    (sum, secs)
}

/// Adds one scrape's interval to a series of (about) [`POINT_SECS`]-long points. Scrapes come
/// more often than that so health sees a change sooner; the newest point takes them in until
/// one more would take it further from a whole point than leaving it (at 500 ms scrapes: two
/// per point; at 1 s or more: one point per scrape).
fn push_interval(points: &mut VecDeque<Point>, t_ms: u64, secs: f64, interval: Interval) {
    if let Some(last) = points.back_mut()
        && last.secs + secs / 2.0 <= POINT_SECS
    {
        let mut merged = std::mem::take(&mut last.interval);
        merged.add(&interval);
        *last = Point::new(t_ms, last.secs + secs, merged);
        return;
    }
    points.push_back(Point::new(t_ms, secs, interval));
    if points.len() > SERIES_LEN {
        points.pop_front();
    }
}

fn rate(d: &Delta, secs: f64) -> (f64, f64) {
    let rps = if secs > 0.0 { d.requests / secs } else { 0.0 };
    let err = if d.requests > 0.0 {
        d.errors / d.requests
    } else {
        0.0
    };
    (round(rps), round(err))
}

/// A restart seen between two scrapes: how many so far, how long ago the last one was.
#[derive(Debug, Clone, Copy)]
pub struct Restarted {
    pub count: u32,
    pub ago: Duration,
}

/// Why a service's readiness probe failed (its text is the health reason shown).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    #[error("readiness probe timed out")]
    TimedOut,
    #[error("unreachable")]
    Unreachable,
    /// It answered, not ready: the status and the checks its body names as failed.
    #[error("not ready ({status}){}", if failed.is_empty() { String::new() } else { format!(": {}", failed.join(", ")) })]
    Failed {
        status: reqwest::StatusCode,
        failed: Vec<String>,
    },
}

/// Why a scrape of `/metrics` gave nothing (its series keep a gap).
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("/metrics did not answer: {0}")]
    Unreachable(#[source] reqwest::Error),
    #[error("/metrics answered {0}")]
    Status(reqwest::StatusCode),
    #[error(transparent)]
    Parse(#[from] red::ParseError),
}

/// Judges health from the probe, restarts and RED.
pub fn judge(
    ready: Option<&Result<(), NotReady>>,
    restarted: Option<Restarted>,
    rps: f64,
    error_rate: f64,
    latency: &Latency,
    memory_mib: Option<f64>,
    t: &Thresholds,
) -> (Health, Option<String>) {
    match ready {
        None => (Health::Unknown, Some("no probe answer yet".into())),
        Some(Err(why)) => (Health::Down, Some(why.to_string())),
        Some(Ok(())) => {
            if let Some(r) = restarted
                && r.ago.as_secs_f64() < t.restart_hold_s
            {
                return (
                    Health::Degraded,
                    Some(format!(
                        "restarted {:.0} s ago ({} restart{} seen)",
                        r.ago.as_secs_f64(),
                        r.count,
                        if r.count == 1 { "" } else { "s" }
                    )),
                );
            }
            if rps >= t.min_rps && error_rate >= t.error_ratio {
                return (
                    Health::Degraded,
                    Some(format!(
                        "error rate {:.1}% >= {:.1}%",
                        error_rate * 100.0,
                        t.error_ratio * 100.0
                    )),
                );
            }
            if let Some(p95) = latency.p95
                && p95 >= t.latency_objective_ms
            {
                return (
                    Health::Degraded,
                    Some(format!(
                        "p95 {p95:.0} ms >= {:.0} ms",
                        t.latency_objective_ms
                    )),
                );
            }
            if let Some(mib) = memory_mib
                && mib >= t.memory_mib
            {
                return (
                    Health::Degraded,
                    Some(format!("memory {mib:.0} MiB >= {:.0} MiB", t.memory_mib)),
                );
            }
            (Health::Up, None)
        }
    }
}

/// Runs the loop until the sender has no receivers left.
pub async fn run(
    targets: Vec<Target>,
    store: Arc<Store>,
    thresholds: Thresholds,
    every: Duration,
    annotations: Arc<Annotations>,
    tx: watch::Sender<Arc<Snapshot>>,
) {
    let client = match reqwest::Client::builder().timeout(PROBE_TIMEOUT).build() {
        Ok(c) => c,
        Err(err) => {
            tracing::error!(error = %err, "cannot build the scrape client; health and RED are off");
            return;
        }
    };
    let mut watched: Vec<Watched> = targets
        .into_iter()
        .map(|target| Watched {
            target,
            previous: None,
            points: VecDeque::new(),
            last_seen: None,
            ready: None,
            metrics_ok: false,
            last_scrape: None,
            memory: None,
            restarts: 0,
            last_restart: None,
        })
        .collect();
    let mut graph = SpanGraph::default();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let results =
            futures_util::future::join_all(watched.iter().map(|w| poll(&client, &w.target))).await;
        let t_ms = now_ms();
        for (w, (metrics, ready)) in watched.iter_mut().zip(results) {
            let now = Instant::now();
            if ready.is_ok() || metrics.is_ok() {
                w.last_seen = Some(t_ms);
            }
            w.ready = Some(ready);
            match metrics {
                Ok(scraped) => {
                    if let (Some(prev), Some(at)) = (&w.previous, w.last_scrape) {
                        push_interval(
                            &mut w.points,
                            t_ms,
                            now.duration_since(at).as_secs_f64(),
                            red::interval(&scraped, prev),
                        );
                    }
                    w.memory = scraped.resident_bytes.map(|b| round(b / 1_048_576.0));
                    if restarted_between(w.previous.as_ref(), &scraped) {
                        w.restarts += 1;
                        w.last_restart = Some(now);
                        tracing::warn!(
                            service = %w.target.name,
                            restarts = w.restarts,
                            "the service restarted since the last scrape"
                        );
                    }
                    w.previous = Some(scraped);
                    w.last_scrape = Some(now);
                    w.metrics_ok = true;
                }
                Err(_) => {
                    // Keep the series; mark the gap by not adding a point.
                    w.metrics_ok = false;
                }
            }
        }
        let mut snapshot = build(&watched, &store, &mut graph, &thresholds, t_ms);
        snapshot.view.faults = annotations.recent(t_ms);
        if tx.send(Arc::new(snapshot)).is_err() {
            return;
        }
    }
}

async fn poll(
    client: &reqwest::Client,
    target: &Target,
) -> (Result<Scraped, ScrapeError>, Result<(), NotReady>) {
    let metrics = async {
        let resp = client
            .get(format!("{}/metrics", target.base_url))
            .send()
            .await
            .map_err(ScrapeError::Unreachable)?;
        if !resp.status().is_success() {
            return Err(ScrapeError::Status(resp.status()));
        }
        let text = resp.text().await.map_err(ScrapeError::Unreachable)?;
        Ok(red::parse(&text)?)
    };
    let ready = async {
        match client
            .get(format!("{}/health/ready", target.base_url))
            .send()
            .await
        {
            Err(e) if e.is_timeout() => Err(NotReady::TimedOut),
            Err(_) => Err(NotReady::Unreachable),
            Ok(resp) if resp.status().is_success() => Ok(()),
            Ok(resp) => {
                let status = resp.status();
                let failed = resp
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| {
                        v["failed"].as_array().map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect::<Vec<_>>()
                        })
                    })
                    .unwrap_or_default();
                Err(NotReady::Failed { status, failed })
            }
        }
    };
    tokio::join!(metrics, ready)
}

/// Whether the process behind a target is a new one: its exported start time moved. (Counter
/// resets are not used: a service that has served nothing yet resets nothing.)
fn restarted_between(previous: Option<&Scraped>, now: &Scraped) -> bool {
    match (previous.and_then(|p| p.start_time), now.start_time) {
        (Some(before), Some(after)) => (after - before).abs() >= 0.001,
        _ => false,
    }
}

/// Per-service RED from server spans, for services without `/metrics`.
fn span_red(
    store: &Store,
    service: &str,
    since_ns: u64,
    secs: f64,
) -> Option<(f64, f64, Latency, u64)> {
    let spans = store.spans.read().ok()?;
    let mut durations = Vec::new();
    let mut errors = 0usize;
    let mut last = 0u64;
    for s in spans.newest(Some(service)) {
        if s.end_unix_nano < since_ns {
            break;
        }
        last = last.max(s.end_unix_nano);
        if s.kind == SpanKind::Server {
            durations.push(s.duration_nanos() as f64 / 1e6);
            errors += usize::from(s.error);
        }
    }
    if last == 0 {
        return None;
    }
    let n = durations.len() as f64;
    let rps = round(n / secs);
    let err = if n > 0.0 {
        round(errors as f64 / n)
    } else {
        0.0
    };
    Some((
        rps,
        err,
        red::latency_of_samples(durations),
        last / 1_000_000,
    ))
}

fn build(
    watched: &[Watched],
    store: &Store,
    graph: &mut SpanGraph,
    thresholds: &Thresholds,
    t_ms: u64,
) -> Snapshot {
    let mut services = Vec::new();
    let mut details = BTreeMap::new();
    let mut business_window = Interval::default();
    let mut business_secs: f64 = 0.0;
    let since = now_ns().saturating_sub(SPAN_WINDOW.as_nanos() as u64);
    for w in watched {
        let (now, secs) = window(&w.points, WINDOW_POINTS);
        let (mut rps, mut error_rate) = rate(&now.total, secs);
        let mut latency = red::latency(&now.total);
        let mut source = Source::Metrics;
        let mut last_seen = w.last_seen;
        if !w.metrics_ok
            && let Some((r, e, l, seen)) =
                span_red(store, &w.target.name, since, SPAN_WINDOW.as_secs_f64())
        {
            (rps, error_rate, latency, source) = (r, e, l, Source::Spans);
            last_seen = last_seen.max(Some(seen));
        }
        let restarted = w.last_restart.map(|at| Restarted {
            count: w.restarts,
            ago: at.elapsed(),
        });
        let (health, reason) = judge(
            w.ready.as_ref(),
            restarted,
            rps,
            error_rate,
            &latency,
            w.memory,
            thresholds,
        );
        let view = ServiceView {
            name: w.target.name.clone(),
            health,
            reason,
            rps,
            error_rate,
            latency_ms: latency,
            last_seen,
            source,
            recent_rps: w
                .points
                .iter()
                .skip(w.points.len().saturating_sub(60))
                .map(|p| p.view.rps)
                .collect(),
            memory_mib: w.memory,
            restarts: w.restarts,
        };
        let (minute, minute_secs) = window(&w.points, 60);
        for (k, v) in &minute.business {
            *business_window.business.entry(k.clone()).or_default() += v;
        }
        business_secs = business_secs.max(minute_secs);
        let routes = now
            .routes
            .iter()
            .map(|(route, d)| {
                let (rps, error_rate) = rate(d, secs);
                RouteView {
                    route: route.clone(),
                    rps,
                    error_rate,
                    latency_ms: red::latency(d),
                }
            })
            .collect();
        let series = w.points.iter().map(|p| p.view.clone()).collect();
        let mut route_series: BTreeMap<String, Vec<SeriesPoint>> = BTreeMap::new();
        for p in &w.points {
            for (route, view) in &p.routes {
                route_series
                    .entry(route.clone())
                    .or_default()
                    .push(view.clone());
            }
        }
        details.insert(
            w.target.name.clone(),
            ServiceDetail {
                summary: view.clone(),
                routes,
                series,
                route_series,
                upstream: Vec::new(),
                downstream: Vec::new(),
            },
        );
        services.push(view);
    }
    graph.refresh(store, since);
    let topology = topology(graph, &services);
    for edge in &topology.edges {
        if let Some(d) = details.get_mut(&edge.from) {
            d.downstream.push(edge.to.clone());
        }
        if let Some(d) = details.get_mut(&edge.to) {
            d.upstream.push(edge.from.clone());
        }
    }
    Snapshot {
        view: dashboard_api::Snapshot {
            at: t_ms,
            services,
            business: business(&business_window.business, business_secs),
            topology,
            store: store.stats(),
            faults: Vec::new(),
            warning: None,
        },
        details,
    }
}

fn sum_matching(counters: &BTreeMap<String, f64>, name: &str) -> f64 {
    counters
        .iter()
        .filter(|(k, _)| *k == name || k.starts_with(&format!("{name}{{")))
        .map(|(_, v)| v)
        .sum()
}

/// `{label="value"}` of a counter key, by label name.
fn by_label(counters: &BTreeMap<String, f64>, name: &str, label: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let prefix = format!("{name}{{");
    let needle = format!("{label}=\"");
    for (k, v) in counters.iter().filter(|(k, _)| k.starts_with(&prefix)) {
        if let Some(rest) = k.split(&needle).nth(1)
            && let Some(value) = rest.split('"').next()
        {
            *out.entry(value.to_owned()).or_default() += v;
        }
    }
    out
}

/// The KPIs from one minute of `shop_*` counter changes. Metric names are the storefront's
/// contract: `shop_orders_placed_total`, `shop_orders_failed_total`,
/// `shop_revenue_minor_total{currency}`, `shop_cart_additions_total`,
/// `shop_checkouts_started_total`, `shop_checkouts_completed_total`,
/// `shop_payment_failures_total{reason}`, `shop_stockouts_total`, `shop_product_views_total`.
pub fn business(counters: &BTreeMap<String, f64>, secs: f64) -> Business {
    // A counter that went backwards was reset (its process restarted): no negative rates,
    // and no "-0".
    let per_min = |v: f64| {
        let r = if secs > 0.0 {
            round(v * 60.0 / secs)
        } else {
            0.0
        };
        if r > 0.0 { r } else { 0.0 }
    };
    let orders = sum_matching(counters, "shop_orders_placed_total");
    let revenue = by_label(counters, "shop_revenue_minor_total", "currency");
    let started = sum_matching(counters, "shop_checkouts_started_total");
    let completed = sum_matching(counters, "shop_checkouts_completed_total");
    Business {
        window_seconds: round(secs),
        orders_per_min: per_min(orders),
        orders_failed_per_min: per_min(sum_matching(counters, "shop_orders_failed_total")),
        revenue_per_min: revenue
            .iter()
            .map(|(c, v)| (c.clone(), per_min(*v)))
            .collect(),
        average_order_value: if orders > 0.0 {
            revenue
                .iter()
                .map(|(c, v)| (c.clone(), round(v / orders)))
                .collect()
        } else {
            BTreeMap::new()
        },
        conversion: (started > 0.0).then(|| round((completed / started).min(1.0))),
        cart_additions_per_min: per_min(sum_matching(counters, "shop_cart_additions_total")),
        checkouts_started_per_min: per_min(started),
        checkouts_completed_per_min: per_min(completed),
        payment_failures_per_min: by_label(counters, "shop_payment_failures_total", "reason")
            .into_iter()
            .map(|(k, v)| (k, per_min(v)))
            .collect(),
        stockouts_per_min: per_min(sum_matching(counters, "shop_stockouts_total")),
        product_views_per_min: per_min(sum_matching(counters, "shop_product_views_total")),
        carts_lost_per_min: per_min(sum_matching(counters, "shop_carts_lost_total")),
    }
}

#[derive(Default)]
struct EdgeAcc {
    calls: f64,
    errors: f64,
    durations: Vec<f64>,
}

/// The edges seen in the last minute of spans, recomputed at most once per
/// [`GRAPH_REFRESH`]: scrapes (and snapshots) come twice a second, and walking a minute of
/// spans with a trace lookup each is the most expensive part of a snapshot under load.
#[derive(Default)]
struct SpanGraph {
    computed: Option<Instant>,
    edges: Vec<Edge>,
    /// Services that sent spans in the window (with or without a scrape target).
    services: Vec<String>,
}

const GRAPH_REFRESH: Duration = Duration::from_secs(1);

impl SpanGraph {
    fn refresh(&mut self, store: &Store, since_ns: u64) {
        if self.computed.is_some_and(|at| at.elapsed() < GRAPH_REFRESH) {
            return;
        }
        self.computed = Some(Instant::now());
        (self.edges, self.services) = span_edges(store, since_ns);
    }
}

/// Each client span of the last minute is an edge from its service to the service of its child
/// server span (or, when that span is not held, to its `peer.service`).
fn span_edges(store: &Store, since_ns: u64) -> (Vec<Edge>, Vec<String>) {
    let mut edges: BTreeMap<(String, String), EdgeAcc> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::<String>::new();
    if let Ok(spans) = store.spans.read() {
        for span in spans.newest(None) {
            if span.end_unix_nano < since_ns {
                break;
            }
            // Names are resolved here, under the lock: an id is only valid while its span is held.
            let service = spans.name(span.service);
            if !seen.contains(service) {
                seen.insert(service.to_owned());
            }
            if span.kind != SpanKind::Client {
                continue;
            }
            let child = spans
                .trace(&span.trace_id)
                .into_iter()
                .find(|s| s.kind == SpanKind::Server && s.parent_span_id == Some(span.span_id))
                .map(|s| spans.name(s.service).to_owned());
            let Some(to) = child.or_else(|| span.attr_str("peer.service").map(|s| s.to_string()))
            else {
                continue;
            };
            if to == service {
                continue;
            }
            let acc = edges.entry((service.to_owned(), to)).or_default();
            acc.calls += 1.0;
            acc.errors += f64::from(u8::from(span.error));
            acc.durations.push(span.duration_nanos() as f64 / 1e6);
        }
    }
    let secs = SPAN_WINDOW.as_secs_f64();
    let edges = edges
        .into_iter()
        .map(|((from, to), acc)| Edge {
            from,
            to,
            rps: round(acc.calls / secs),
            error_rate: if acc.calls > 0.0 {
                round(acc.errors / acc.calls)
            } else {
                0.0
            },
            p95_ms: red::latency_of_samples(acc.durations).p95,
        })
        .collect();
    (edges, seen.into_iter().collect())
}

/// The service graph: every watched service with its health, every other service seen in
/// spans or at the end of an edge as unknown, and the edges from the last minute of spans.
fn topology(graph: &SpanGraph, services: &[ServiceView]) -> Topology {
    let mut seen: BTreeMap<String, Health> = services
        .iter()
        .map(|s| (s.name.clone(), s.health))
        .collect();
    for name in graph
        .services
        .iter()
        .chain(graph.edges.iter().map(|e| &e.to))
    {
        seen.entry(name.clone()).or_insert(Health::Unknown);
    }
    Topology {
        nodes: seen
            .into_iter()
            .map(|(name, health)| Node { name, health })
            .collect(),
        edges: graph.edges.clone(),
    }
}

/// Targets from the stack manifest: every service.
pub fn targets_from_manifest(manifest: &apiary_manifest::Manifest) -> Vec<Target> {
    manifest
        .services
        .iter()
        .map(|s| Target {
            name: s.name.clone(),
            base_url: manifest.url(s),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requests(n: f64, errors: f64) -> Interval {
        Interval {
            total: red::Delta {
                requests: n,
                errors,
                buckets: Default::default(),
            },
            ..Interval::default()
        }
    }

    /// Issue 13: every fault and drill window was kept for ever. Closed windows past the
    /// charts' 15 minutes are dropped now, and open ones stay whatever their age.
    #[test]
    fn a_failed_probe_says_why_as_the_health_reason() {
        let failed = NotReady::Failed {
            status: reqwest::StatusCode::SERVICE_UNAVAILABLE,
            failed: vec!["store".into(), "catalog".into()],
        };
        assert_eq!(
            failed.to_string(),
            "not ready (503 Service Unavailable): store, catalog"
        );
        let bare = NotReady::Failed {
            status: reqwest::StatusCode::SERVICE_UNAVAILABLE,
            failed: Vec::new(),
        };
        assert_eq!(bare.to_string(), "not ready (503 Service Unavailable)");
        assert_eq!(NotReady::TimedOut.to_string(), "readiness probe timed out");
    }

    #[test]
    fn annotations_keep_only_what_a_snapshot_can_show() {
        let a = Annotations::default();
        let window = |name: &str, start: u64| FaultWindow {
            kind: "fault".into(),
            name: name.into(),
            service: None,
            start,
            end: None,
        };
        let long_ago = now_ms() - 3_600_000;
        let still_open = a.open(window("still open", long_ago));
        for i in 0..5_000 {
            let id = a.open(window(&format!("old {i}"), long_ago));
            a.close(id, long_ago + 1);
        }
        assert_eq!(a.len(), 1, "old closed windows are gone");
        for i in 0..2_000 {
            let id = a.open(window(&format!("recent {i}"), now_ms()));
            a.close(id, now_ms());
        }
        assert!(a.len() <= MAX_CLOSED_WINDOWS + 1, "{}", a.len());
        let recent = a.recent(now_ms());
        assert_eq!(recent[0].name, "still open");
        a.close(still_open, now_ms());
        assert!(a.recent(now_ms()).iter().all(|w| w.end.is_some()));
    }

    #[test]
    fn half_second_scrapes_make_one_second_points() {
        let mut points = VecDeque::new();
        // Four scrapes 500 ms apart: two points of one second each, the newest one updated
        // by every scrape (so health sees each half second's requests at once).
        push_interval(&mut points, 1_500, 0.5, requests(5.0, 0.0));
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].view.rps, 10.0);
        push_interval(&mut points, 2_000, 0.5, requests(5.0, 5.0));
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].secs, 1.0);
        assert_eq!(points[0].view.t, 2_000);
        assert_eq!(points[0].view.rps, 10.0);
        assert_eq!(points[0].view.error_rate, 0.5);
        push_interval(&mut points, 2_500, 0.5, requests(2.0, 0.0));
        push_interval(&mut points, 3_000, 0.5, requests(2.0, 0.0));
        assert_eq!(points.len(), 2);
        assert_eq!(points[1].view.rps, 4.0);
        let (sum, secs) = window(&points, WINDOW_POINTS);
        assert_eq!(
            (sum.total.requests, sum.total.errors, secs),
            (14.0, 5.0, 2.0)
        );
    }

    #[test]
    fn one_second_or_slower_scrapes_make_a_point_each() {
        let mut points = VecDeque::new();
        for i in 0..(SERIES_LEN as u64 + 3) {
            push_interval(&mut points, 1_000 * i, 1.0, requests(1.0, 0.0));
        }
        assert_eq!(points.len(), SERIES_LEN);
        let mut slow = VecDeque::new();
        push_interval(&mut slow, 2_000, 2.0, requests(1.0, 0.0));
        push_interval(&mut slow, 4_000, 2.0, requests(1.0, 0.0));
        assert_eq!(slow.len(), 2);
    }

    #[test]
    fn health_follows_probe_then_thresholds() {
        let t = Thresholds::default();
        let fast = Latency {
            p50: Some(5.0),
            p95: Some(10.0),
            p99: Some(20.0),
        };
        let slow = Latency {
            p95: Some(900.0),
            ..fast
        };
        assert_eq!(
            judge(None, None, 0.0, 0.0, &fast, None, &t).0,
            Health::Unknown
        );
        assert_eq!(
            judge(
                Some(&Err(NotReady::Unreachable)),
                None,
                10.0,
                0.0,
                &fast,
                None,
                &t
            )
            .0,
            Health::Down
        );
        assert_eq!(
            judge(Some(&Ok(())), None, 10.0, 0.0, &fast, None, &t).0,
            Health::Up
        );
        assert_eq!(
            judge(Some(&Ok(())), None, 10.0, 0.2, &fast, None, &t).0,
            Health::Degraded
        );
        assert_eq!(
            judge(Some(&Ok(())), None, 0.1, 0.5, &fast, None, &t).0,
            Health::Up,
            "too few requests to judge"
        );
        let (h, why) = judge(Some(&Ok(())), None, 10.0, 0.0, &fast, Some(200.0), &t);
        assert_eq!(h, Health::Degraded);
        assert!(why.is_some_and(|w| w.contains("memory 200 MiB")));
        assert_eq!(
            judge(Some(&Ok(())), None, 10.0, 0.0, &fast, Some(20.0), &t).0,
            Health::Up
        );
        let (h, why) = judge(Some(&Ok(())), None, 10.0, 0.0, &slow, None, &t);
        assert_eq!(h, Health::Degraded);
        assert!(why.unwrap_or_default().contains("p95"));
    }

    #[test]
    fn a_recent_restart_degrades_until_the_hold_has_passed() {
        let t = Thresholds::default();
        let fast = Latency {
            p50: Some(5.0),
            p95: Some(10.0),
            p99: Some(20.0),
        };
        let restarted = |secs| {
            Some(Restarted {
                count: 2,
                ago: Duration::from_secs(secs),
            })
        };
        let (h, why) = judge(Some(&Ok(())), restarted(3), 10.0, 0.0, &fast, None, &t);
        assert_eq!(h, Health::Degraded);
        assert_eq!(why.as_deref(), Some("restarted 3 s ago (2 restarts seen)"));
        assert_eq!(
            judge(Some(&Ok(())), restarted(11), 10.0, 0.0, &fast, None, &t).0,
            Health::Up,
            "the hold is over"
        );
        assert_eq!(
            judge(
                Some(&Err(NotReady::Unreachable)),
                restarted(1),
                10.0,
                0.0,
                &fast,
                None,
                &t
            )
            .0,
            Health::Down,
            "down while it is away"
        );
    }

    #[test]
    fn a_moved_start_time_is_a_restart() {
        let at = |t: Option<f64>| Scraped {
            start_time: t,
            ..Scraped::default()
        };
        assert!(restarted_between(Some(&at(Some(100.0))), &at(Some(160.5))));
        assert!(!restarted_between(Some(&at(Some(100.0))), &at(Some(100.0))));
        assert!(!restarted_between(None, &at(Some(100.0))), "first scrape");
        assert!(
            !restarted_between(Some(&at(None)), &at(None)),
            "not exported"
        );
    }

    #[test]
    fn business_kpis_come_from_counter_changes() {
        let mut c = BTreeMap::new();
        c.insert("shop_orders_placed_total".to_owned(), 10.0);
        c.insert(
            "shop_revenue_minor_total{currency=\"EUR\"}".to_owned(),
            25_000.0,
        );
        c.insert("shop_checkouts_started_total".to_owned(), 20.0);
        c.insert("shop_checkouts_completed_total".to_owned(), 10.0);
        c.insert(
            "shop_payment_failures_total{reason=\"declined\"}".to_owned(),
            3.0,
        );
        let b = business(&c, 60.0);
        assert_eq!(b.orders_per_min, 10.0);
        assert_eq!(b.revenue_per_min["EUR"], 25_000.0);
        assert_eq!(b.average_order_value["EUR"], 2_500.0);
        assert_eq!(b.conversion, Some(0.5));
        assert_eq!(b.payment_failures_per_min["declined"], 3.0);
        assert_eq!(b.product_views_per_min, 0.0);
        c.insert("shop_product_views_total".to_owned(), 30.0);
        assert_eq!(business(&c, 60.0).product_views_per_min, 30.0);
        assert_eq!(business(&BTreeMap::new(), 0.0).conversion, None);
    }
}
