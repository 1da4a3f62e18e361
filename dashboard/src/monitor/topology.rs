//! The service graph: edges from the last minute of client spans (recomputed at most once a
//! second), nodes for every watched service and every other service seen.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Edge, Health, Node, SPAN_WINDOW, ServiceView, Topology, round};
use crate::model::SpanKind;
use crate::red;
use crate::store::Store;

#[derive(Default)]
struct EdgeAcc {
    calls: f64,
    errors: f64,
    rejected: f64,
    durations: Vec<f64>,
}

/// The edges seen in the last minute of spans, recomputed at most once per
/// [`GRAPH_REFRESH`]: scrapes (and snapshots) come twice a second, and walking a minute of
/// spans with a trace lookup each is the most expensive part of a snapshot under load.
#[derive(Default)]
pub(super) struct SpanGraph {
    computed: Option<Instant>,
    edges: Vec<Edge>,
    /// Services that sent spans in the window (with or without a scrape target).
    services: Vec<String>,
}

const GRAPH_REFRESH: Duration = Duration::from_secs(1);

impl SpanGraph {
    pub(super) fn refresh(&mut self, store: &Store, since_ns: u64) {
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
            acc.errors += f64::from(u8::from(span.failed()));
            acc.rejected += f64::from(u8::from(span.rejected()));
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
            error_rate: share(acc.errors, acc.calls),
            rejected_rate: share(acc.rejected, acc.calls),
            p95_ms: red::latency_of_samples(acc.durations).p95,
        })
        .collect();
    (edges, seen.into_iter().collect())
}

fn share(part: f64, of: f64) -> f64 {
    if of > 0.0 { round(part / of) } else { 0.0 }
}

/// The service graph: every watched service with its health, every other service seen in
/// spans or at the end of an edge as unknown, and the edges from the last minute of spans.
pub(super) fn topology(graph: &SpanGraph, services: &[ServiceView]) -> Topology {
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
