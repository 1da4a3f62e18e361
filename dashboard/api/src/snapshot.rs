//! What the monitor publishes every scrape: services with their health and RED, each service's
//! detail, the map, the shop's KPIs, the store's counts and the fault windows
//! (`/api/services`, `/api/services/{name}`, `/api/topology`, `/api/business`, `/api/store`,
//! `/api/snapshot` and the `/api/events` stream).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// p50/p95/p99 in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Latency {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// up | degraded | down | unknown (a word the reader does not know reads as unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Up,
    Degraded,
    Down,
    #[default]
    #[serde(other)]
    Unknown,
}

impl Health {
    pub fn word(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Degraded => "degraded",
            Health::Down => "down",
            Health::Unknown => "unknown",
        }
    }

    /// A shape as well as a colour, so health never rests on colour alone.
    pub fn icon(self) -> &'static str {
        match self {
            Health::Up => "✓",
            Health::Degraded => "▲",
            Health::Down => "✕",
            Health::Unknown => "?",
        }
    }

    /// Worst first: the order tiles draw the eye in (down 3, degraded 2, unknown 1, up 0).
    pub fn severity(self) -> u8 {
        match self {
            Health::Down => 3,
            Health::Degraded => 2,
            Health::Unknown => 1,
            Health::Up => 0,
        }
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// Where a service's RED comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Its scraped `/metrics`.
    #[default]
    Metrics,
    /// Its server spans (a service with no scrapable metrics).
    Spans,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceView {
    pub name: String,
    #[serde(default)]
    pub health: Health,
    /// Why the health is what it is (`not ready: catalog`, `error rate 12% >= 5%`…).
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub rps: f64,
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default)]
    pub latency_ms: Latency,
    /// Unix milliseconds of the last scrape, probe answer or span.
    #[serde(default)]
    pub last_seen: Option<u64>,
    #[serde(default)]
    pub source: Source,
    /// Requests/s of each of the last 60 one-second points, oldest first (the tile's sparkline).
    #[serde(default)]
    pub recent_rps: Vec<f64>,
    /// Resident memory in MiB (`process_resident_memory_bytes`), when exported.
    #[serde(default)]
    pub memory_mib: Option<f64>,
    /// Restarts seen since the dashboard started watching (`process_start_time_seconds`
    /// changed between two scrapes).
    #[serde(default)]
    pub restarts: u32,
    /// Every instance of the service (one, unless it is scaled out): the service's RED is
    /// their sum; one down instance makes the service degraded, all of them down.
    #[serde(default)]
    pub instances: Vec<InstanceView>,
    /// Its availability and latency objectives (apiary.toml's `[slo]` and the service's own
    /// `slo = {...}`), judged live from the 1-second data.
    #[serde(default)]
    pub slos: Vec<SloStatus>,
}

/// One service level objective, live: the burn rate over each window the multi-window
/// alerts read (the same windows and factors as `prometheus/rules/slo.rules.yml`), the error
/// budget left over the history the dashboard holds, and the alert that fires, if one does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct SloStatus {
    /// `availability` (requests answered without a 5xx) or `latency` (answered within
    /// `threshold_ms`).
    pub slo: String,
    /// The share of requests that must be good (0.995 = 99.5 %).
    pub objective: f64,
    /// The latency SLO's threshold.
    pub threshold_ms: Option<u64>,
    /// Burn rate (bad share / (1 - objective); 1 spends the budget exactly over the SLO period)
    /// over 30 s, 5 min, 30 min, 1 h and 6 h; `None` for a window without requests.
    pub burn_30s: Option<f64>,
    pub burn_5m: Option<f64>,
    pub burn_30m: Option<f64>,
    pub burn_1h: Option<f64>,
    pub burn_6h: Option<f64>,
    /// The share of the error budget left over the last `budget_window_s` (1 = untouched,
    /// 0 = spent, below 0 = the objective is broken).
    pub budget_remaining: Option<f64>,
    /// How far back the budget looks: the dashboard's history, up to 6 h.
    pub budget_window_s: u64,
    /// Requests and bad ones since the dashboard started watching (a drill report's budget
    /// spent is the change of these).
    pub requests_total: f64,
    pub bad_total: f64,
    /// The burn alert firing now, if any.
    pub alert: Option<BurnAlert>,
}

/// A multi-window burn-rate alert that fires: both windows over the factor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct BurnAlert {
    /// `drill` (5 min and 30 s over 14.4: a fault drill pages within a minute) or `fast`
    /// (1 h and 5 min over 14.4, or 6 h and 30 min over 6: the SRE workbook's paging tier).
    pub tier: String,
    /// What a person reads: "burning its availability budget 31x too fast (5 min and 30 s)".
    pub summary: String,
}

/// One instance of a service: its own probe, RED, memory and restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct InstanceView {
    /// `service.instance.id` (`catalog-2`), or the address DNS gave.
    pub id: String,
    pub url: String,
    pub health: Health,
    pub reason: Option<String>,
    pub rps: f64,
    pub error_rate: f64,
    pub latency_ms: Latency,
    pub memory_mib: Option<f64>,
    pub restarts: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteView {
    pub route: String,
    #[serde(default)]
    pub rps: f64,
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default)]
    pub latency_ms: Latency,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesPoint {
    /// Unix milliseconds.
    pub t: u64,
    #[serde(default)]
    pub rps: f64,
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default)]
    pub latency_ms: Latency,
}

/// `/api/services/{name}`: the summary plus routes, series and neighbours.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceDetail {
    #[serde(flatten)]
    pub summary: ServiceView,
    /// Each route's RED now (last 5 s).
    #[serde(default)]
    pub routes: Vec<RouteView>,
    /// One point a second for up to 15 minutes.
    #[serde(default)]
    pub series: Vec<SeriesPoint>,
    /// The same, per route (`GET /route`); a route absent in a second has no point for it.
    #[serde(default)]
    pub route_series: BTreeMap<String, Vec<SeriesPoint>>,
    #[serde(default)]
    pub upstream: Vec<String>,
    #[serde(default)]
    pub downstream: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Edge {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub rps: f64,
    /// Share of calls that failed: 5xx, timeouts, refused or broken connections.
    #[serde(default)]
    pub error_rate: f64,
    /// Share of calls answered with a 4xx: expected outcomes (not found, declined), not
    /// failures, shown apart and never coloured as errors.
    #[serde(default)]
    pub rejected_rate: f64,
    #[serde(default)]
    pub p95_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Node {
    pub name: String,
    #[serde(default)]
    pub health: Health,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Topology {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// Shop KPIs over the last minute, from the services' `shop_*` counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Business {
    pub window_seconds: f64,
    pub orders_per_min: f64,
    pub orders_failed_per_min: f64,
    /// Minor units per minute, by currency.
    pub revenue_per_min: BTreeMap<String, f64>,
    /// Minor units, by currency.
    pub average_order_value: BTreeMap<String, f64>,
    /// Completed checkouts / started checkouts (None before any start).
    pub conversion: Option<f64>,
    pub cart_additions_per_min: f64,
    pub checkouts_started_per_min: f64,
    pub checkouts_completed_per_min: f64,
    pub payment_failures_per_min: BTreeMap<String, f64>,
    pub stockouts_per_min: f64,
    /// Product pages shown (`shop_product_views_total`): the top of the funnel.
    pub product_views_per_min: f64,
    /// Carts lost with the cart store (`shop_carts_lost_total`).
    pub carts_lost_per_min: f64,
    /// Orders placed but not shipped yet: events in the outbox and the shipping queue, and
    /// shipments the warehouse has not shipped (None without messaging).
    pub awaiting_fulfilment: Option<f64>,
}

/// An interval during which a fault or a drill was active; `end` is None while it still is.
/// The UI shades them on every time-series chart and shows a banner for the active ones.
/// One consumer's queue: an asynchronous edge `producers -> exchange -> consumer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct QueueView {
    /// `notifications.order-placed`.
    pub queue: String,
    /// The exchange it is bound to (`shop.events`) and the binding (`order.placed`).
    pub exchange: String,
    pub routing_key: String,
    /// The services that publish what it receives.
    pub producers: Vec<String>,
    /// The service that consumes it.
    pub consumer: String,
    /// Messages in it (ready + unacknowledged), from the broker; None when the broker's
    /// metrics are not reachable.
    pub depth: Option<f64>,
    /// Consumers attached, from the broker.
    pub consumers: Option<f64>,
    /// Messages in its dead-letter queue, from the broker.
    pub dead_letters: Option<f64>,
    /// How fast its dead-letter queue grew over the last seconds, messages a minute.
    pub dead_letters_per_min: Option<f64>,
    /// Deliveries the consumer handled per second (processed and duplicates).
    pub rate: f64,
    /// Mean publish-to-processed time over the last seconds (consumer lag in time).
    pub lag_s: Option<f64>,
    /// Up, or degraded when it falls behind (depth growing, lag high, no consumer).
    pub health: Health,
    pub reason: Option<String>,
}

/// The asynchronous half of the shop.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Messaging {
    /// Whether the broker's metrics answered (unknown when no broker is configured).
    pub broker: Health,
    pub queues: Vec<QueueView>,
    /// Rows waiting in each producer's outbox.
    pub outbox_backlog: BTreeMap<String, f64>,
}

impl Messaging {
    /// The queues `service` consumes.
    pub fn consumed_by<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a QueueView> {
        self.queues.iter().filter(move |q| q.consumer == service)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultWindow {
    /// `fault` or `drill`.
    #[serde(default)]
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub service: Option<String>,
    /// Unix milliseconds.
    pub start: u64,
    #[serde(default)]
    pub end: Option<u64>,
}

/// `/api/store`: what the bounded store holds, its budgets, and what passed through it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct StoreStats {
    pub spans: usize,
    pub logs: usize,
    pub metric_points: usize,
    pub traces: usize,
    pub max_spans: usize,
    pub max_logs: usize,
    pub max_metric_points: usize,
    /// Bytes held by spans and log records (approximate), and their budgets.
    pub span_bytes: usize,
    pub log_bytes: usize,
    pub max_span_bytes: usize,
    pub max_log_bytes: usize,
    pub spans_received: u64,
    pub spans_evicted: u64,
    pub spans_refused: u64,
    pub logs_received: u64,
    pub logs_evicted: u64,
    pub logs_refused: u64,
    pub points_received: u64,
    pub points_evicted: u64,
    pub points_refused: u64,
    pub attributes_dropped: u64,
    pub values_truncated: u64,
    /// How late spans arrive, span end -> stored, over the last ten seconds (mean and largest,
    /// ms): the SDK's batching and export plus the dashboard's ingest.
    pub ingest_lag_ms_mean: Option<u64>,
    pub ingest_lag_ms_max: Option<u64>,
    /// When the oldest span held ended (Unix ms): how far back traces go now (the store
    /// evicts oldest first).
    pub oldest_span_unix_ms: Option<u64>,
}

/// One event-stream snapshot (also `GET /api/snapshot`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Snapshot {
    /// Unix milliseconds.
    pub at: u64,
    pub services: Vec<ServiceView>,
    pub business: Business,
    pub topology: Topology,
    pub store: StoreStats,
    /// Fault and drill intervals of the last 15 minutes.
    pub faults: Vec<FaultWindow>,
    /// The asynchronous half: queues, their consumers, dead letters, outboxes.
    pub messaging: Messaging,
    /// The dashboard's own warning (running unsecured off loopback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Services whose last `/metrics` scrape failed (their numbers are stale or from spans).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scrape_failures: Vec<String>,
    /// The probable cause of what is red, when something is (refreshed once a second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<crate::Diagnosis>,
}

impl Snapshot {
    pub fn service(&self, name: &str) -> Option<&ServiceView> {
        self.services.iter().find(|s| s.name == name)
    }

    pub fn health_of(&self, name: &str) -> Health {
        self.service(name).map(|s| s.health).unwrap_or_default()
    }

    /// Faults and drills still running.
    pub fn active_faults(&self) -> impl Iterator<Item = &FaultWindow> {
        self.faults.iter().filter(|f| f.end.is_none())
    }

    /// True once any service has seen a request in its RED window.
    pub fn has_traffic(&self) -> bool {
        self.services.iter().any(|s| s.rps > 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_without_the_newer_fields_still_reads() {
        let raw = r#"{"at": 5, "services": [{"name": "cart", "health": "up", "rps": 1.5,
            "error_rate": 0.0, "latency_ms": {"p50": 1.0, "p95": 2.0, "p99": null},
            "last_seen": 4, "source": "metrics"}], "business": {"orders_per_min": 3.0},
            "topology": {"nodes": [], "edges": []}, "store": {"spans": 1}}"#;
        let s: Snapshot = serde_json::from_str(raw).expect("parses");
        assert_eq!(s.services[0].health, Health::Up);
        assert!(s.services[0].recent_rps.is_empty());
        assert!(s.faults.is_empty());
        assert_eq!(s.business.orders_per_min, 3.0);
        assert!(s.has_traffic());
    }

    #[test]
    fn unknown_or_missing_words_read_as_the_default() {
        let n: Node =
            serde_json::from_str(r#"{"name": "x", "health": "melting"}"#).expect("parses");
        assert_eq!(n.health, Health::Unknown);
        let v: ServiceView = serde_json::from_str(r#"{"name": "x"}"#).expect("parses");
        assert_eq!(v.source, Source::Metrics);
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let snap = Snapshot {
            at: 7,
            services: vec![ServiceView {
                name: "payment".into(),
                health: Health::Degraded,
                reason: Some("p95 812 ms >= 500 ms".into()),
                rps: 3.5,
                source: Source::Spans,
                memory_mib: Some(11.5),
                restarts: 2,
                ..ServiceView::default()
            }],
            business: Business {
                carts_lost_per_min: 1.0,
                ..Business::default()
            },
            warning: None,
            ..Snapshot::default()
        };
        let json = serde_json::to_value(&snap).expect("serialises");
        assert_eq!(json["services"][0]["source"], "spans");
        assert_eq!(json["services"][0]["health"], "degraded");
        assert_eq!(json["business"]["carts_lost_per_min"], 1.0);
        assert!(json.get("warning").is_none(), "no warning, no key");
        let back: Snapshot = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, snap);
    }
}
