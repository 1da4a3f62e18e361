//! The dashboard API's JSON, as the UI reads it: the one definition in `dashboard-api`, which
//! the server writes with (serde only, so the wasm build links nothing of the server).

pub use dashboard_api::{
    Attributes, BurnAlert, Business, Cause, Diagnosis, Edge, FaultWindow, Health, Latency,
    LogRecord, LogSearch, Messaging, Node, QueueView, RouteView, SeriesPoint, ServiceDetail,
    ServiceView, Side, SloStatus, Snapshot, Span, SpanEvent, SpanPercentile, StoreStats, Topology,
    TraceComparison, TraceDetail, TraceSearch, TraceSummary,
};
