//! What the monitor publishes each tick: every watched service's RED, health and series (from
//! its scrapes, or from its server spans when `/metrics` gives nothing), the topology and the
//! business KPIs.

use std::collections::BTreeMap;

use super::business::business;
use super::health::{Restarted, Thresholds, judge};
use super::scrape::Watched;
use super::series::{rate, window};
use super::topology::{SpanGraph, topology};
use super::{
    Health, InstanceView, Latency, RouteView, SPAN_WINDOW, SeriesPoint, ServiceDetail, ServiceView,
    Source, StoreStats, WINDOW_POINTS, now_ms, now_ns, round,
};
use crate::model::SpanKind;
use crate::red::{self, Interval};
use crate::store::Store;

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
            errors += usize::from(s.failed());
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

/// [`judge`] with the last restart seen (when, how many so far) and RED `(rps, errors, latency)`.
fn judge_now(
    ready: Option<&Result<(), super::NotReady>>,
    (last_restart, restarts): (Option<std::time::Instant>, u32),
    (rps, error_rate, latency): (f64, f64, &Latency),
    memory: Option<f64>,
    thresholds: &Thresholds,
) -> (Health, Option<String>) {
    let restarted = last_restart.map(|at| Restarted {
        count: restarts,
        ago: at.elapsed(),
    });
    judge(
        ready, restarted, rps, error_rate, latency, memory, thresholds,
    )
}

/// Each instance judged on its own probe, RED, memory and restarts.
fn instance_views(w: &Watched, thresholds: &Thresholds) -> Vec<InstanceView> {
    w.instances
        .iter()
        .map(|i| {
            let (now, secs) = window(&i.points, WINDOW_POINTS);
            let (rps, error_rate) = rate(&now.total, secs);
            let latency = red::latency(&now.total);
            let (health, reason) = judge_now(
                i.ready.as_ref(),
                (i.last_restart, i.restarts),
                (rps, error_rate, &latency),
                i.memory,
                thresholds,
            );
            InstanceView {
                id: i.id.clone(),
                url: i.url.clone(),
                health,
                reason,
                rps,
                error_rate,
                latency_ms: latency,
                memory_mib: i.memory,
                restarts: i.restarts,
            }
        })
        .collect()
}

/// A scaled-out service's health: down only when every instance is down; degraded when some
/// are (naming them), else what its summed RED says.
fn across_instances(
    instances: &[InstanceView],
    health: Health,
    reason: Option<String>,
) -> (Health, Option<String>) {
    if instances.len() < 2 {
        return (health, reason);
    }
    let down: Vec<&InstanceView> = instances
        .iter()
        .filter(|i| i.health == Health::Down)
        .collect();
    let why = |i: &InstanceView| format!("{} ({})", i.id, i.reason.as_deref().unwrap_or("down"));
    if down.len() == instances.len() {
        return (
            Health::Down,
            Some(format!(
                "all {} instances down: {}",
                instances.len(),
                down.iter().map(|i| why(i)).collect::<Vec<_>>().join(", ")
            )),
        );
    }
    if !down.is_empty() && health != Health::Down {
        return (
            Health::Degraded,
            Some(format!(
                "{} of {} instances down: {}",
                down.len(),
                instances.len(),
                down.iter().map(|i| why(i)).collect::<Vec<_>>().join(", ")
            )),
        );
    }
    (health, reason)
}

/// One tick's snapshot, from what the loop keeps of every target and the spans held.
pub(super) fn build(
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
        let (health, reason) = judge_now(
            w.ready.as_ref(),
            (w.last_restart, w.restarts),
            (rps, error_rate, &latency),
            w.memory,
            thresholds,
        );
        let instances = instance_views(w, thresholds);
        let (health, reason) = across_instances(&instances, health, reason);
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
            instances,
            slos: w.slo.status(t_ms),
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
            messaging: dashboard_api::Messaging::default(),
            warning: None,
            scrape_failures: watched
                .iter()
                .filter(|w| w.ready.is_some() && !w.metrics_ok)
                .map(|w| w.target.name.clone())
                .collect(),
            diagnosis: None,
        },
        details,
    }
}
