//! The dashboard API's JSON, defined once: the server (`dashboard`) builds these values, the
//! UI (`dashboard-ui`, on the server and in the browser's wasm) reads them, and the OpenAPI
//! document names them. Serde only, so the wasm build links nothing of the server.
//!
//! Reading is lenient where the UI can do without a field (`#[serde(default)]`), so a page
//! served by an older or newer dashboard still renders; writing always writes every field.

mod cause;
mod compare;
mod drills;
mod snapshot;
mod traces;

pub use cause::{AttributeDelta, Cause, CauseCheck, Change, Diagnosis};
pub use compare::{CompareRow, Side, TraceComparison, compare};
pub use drills::{
    BudgetSpent, DetectionStages, DrillInfo, Drills, Event, FaultOutcome, Phases, Reading, Report,
    RunInfo, Runs, ScaleOutcome, ScalePhase, Slis, Stage, Verdict,
};
pub use snapshot::{
    BurnAlert, Business, Edge, FaultWindow, Health, InstanceView, Latency, Messaging, Node,
    QueueView, RouteView, SeriesPoint, ServiceDetail, ServiceView, SloStatus, Snapshot, Source,
    StoreStats, Topology,
};
pub use traces::{
    Attributes, LinkedFrom, LogRecord, LogSearch, Span, SpanEvent, SpanKind, SpanLink,
    SpanPercentile, TraceDetail, TraceSearch, TraceSummary,
};
