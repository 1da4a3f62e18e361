//! The dashboard API's JSON, as the UI reads it. The server owns these shapes (see
//! `dashboard/src/monitor.rs` and `api.rs`); the UI keeps its own copies so that the wasm build
//! does not link the server. Every field the UI can do without has `#[serde(default)]`, so an
//! older or newer server still renders.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// up | degraded | down | unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

    /// Worst first: the order tiles draw the eye in.
    pub fn severity(self) -> u8 {
        match self {
            Health::Down => 3,
            Health::Degraded => 2,
            Health::Unknown => 1,
            Health::Up => 0,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceView {
    pub name: String,
    #[serde(default)]
    pub health: Health,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub rps: f64,
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default)]
    pub latency_ms: Latency,
    #[serde(default)]
    pub last_seen: Option<u64>,
    /// The last minute of requests/s, one point a second (the tile's sparkline).
    #[serde(default)]
    pub recent_rps: Vec<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceDetail {
    #[serde(flatten)]
    pub summary: ServiceView,
    #[serde(default)]
    pub routes: Vec<RouteView>,
    #[serde(default)]
    pub series: Vec<SeriesPoint>,
    #[serde(default)]
    pub route_series: BTreeMap<String, Vec<SeriesPoint>>,
    #[serde(default)]
    pub upstream: Vec<String>,
    #[serde(default)]
    pub downstream: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub rps: f64,
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default)]
    pub p95_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    #[serde(default)]
    pub health: Health,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Topology {
    #[serde(default)]
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Business {
    pub window_seconds: f64,
    pub orders_per_min: f64,
    pub orders_failed_per_min: f64,
    pub revenue_per_min: BTreeMap<String, f64>,
    pub average_order_value: BTreeMap<String, f64>,
    pub conversion: Option<f64>,
    pub product_views_per_min: f64,
    pub cart_additions_per_min: f64,
    pub checkouts_started_per_min: f64,
    pub checkouts_completed_per_min: f64,
    pub payment_failures_per_min: BTreeMap<String, f64>,
    pub stockouts_per_min: f64,
}

/// An interval when a fault or a drill was active; `end` is None while it still is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreStats {
    pub spans: u64,
    pub logs: u64,
    pub traces: u64,
    pub max_spans: u64,
    pub max_logs: u64,
}

/// One event-stream snapshot (also `GET /api/snapshot`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    /// Unix milliseconds.
    pub at: u64,
    pub services: Vec<ServiceView>,
    pub business: Business,
    pub topology: Topology,
    pub store: StoreStats,
    pub faults: Vec<FaultWindow>,
    /// The dashboard's own warning (running unsecured off loopback).
    pub warning: Option<String>,
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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    pub trace_id: String,
    #[serde(default)]
    pub root_service: String,
    #[serde(default)]
    pub root_name: String,
    #[serde(default)]
    pub start_unix_nano: u64,
    #[serde(default)]
    pub duration_ms: f64,
    #[serde(default)]
    pub span_count: usize,
    #[serde(default)]
    pub error: bool,
    #[serde(default)]
    pub services: Vec<String>,
}

/// Attribute values arrive as JSON scalars.
pub type Attributes = BTreeMap<String, serde_json::Value>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    pub time_unix_nano: u64,
    pub name: String,
    #[serde(default)]
    pub attributes: Attributes,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    #[serde(default)]
    pub parent_span_id: Option<String>,
    pub service: String,
    pub name: String,
    #[serde(default)]
    pub kind: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    #[serde(default)]
    pub duration_ms: f64,
    #[serde(default)]
    pub error: bool,
    #[serde(default)]
    pub status_message: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default)]
    pub events: Vec<SpanEvent>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Arrival number in the dashboard's store (`/api/logs?after=`).
    #[serde(default)]
    pub seq: u64,
    pub time_unix_nano: u64,
    #[serde(default)]
    pub severity_number: i32,
    #[serde(default)]
    pub severity_text: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default)]
    pub span_id: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceDetail {
    pub summary: TraceSummary,
    #[serde(default)]
    pub spans: Vec<Span>,
    #[serde(default)]
    pub logs: Vec<LogRecord>,
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
    fn an_unknown_health_word_reads_as_unknown() {
        let n: Node =
            serde_json::from_str(r#"{"name": "x", "health": "melting"}"#).expect("parses");
        assert_eq!(n.health, Health::Unknown);
    }
}
