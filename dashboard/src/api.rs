//! The dashboard's JSON API (see `GET /api/openapi.json`).

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_stream::wrappers::WatchStream;

use dashboard_api::{
    Attributes, LogRecord, LogSearch, ServiceDetail, Snapshot as SnapshotView, Span, SpanEvent,
    SpanPercentile, TraceComparison, TraceDetail, TraceSearch, TraceSummary,
};

use crate::model::{AttrValue, Attrs, StoredLog, StoredSpan, hex, parse_trace_id};
use crate::monitor::Snapshot;
use crate::names::Name;
use crate::store::{SpanStore, Store, TraceFilter, TraceStatus};

#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<Store>,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// Shown in every snapshot when the dashboard runs `--unsecured` off loopback.
    pub unsecured_warning: Option<&'static str>,
    /// One permit per open `/api/events` stream: each holds a connection and is sent a
    /// snapshot twice a second for as long as it stays open, so their number is capped.
    pub event_streams: Arc<Semaphore>,
    /// When browsers showed health changes (`POST /api/seen`).
    pub seen: Arc<crate::seen::SeenLog>,
}

/// An open event stream's slot; counted in `dashboard_event_streams` while it is held.
struct StreamSlot {
    _permit: OwnedSemaphorePermit,
}

impl StreamSlot {
    fn new(permit: OwnedSemaphorePermit) -> Self {
        metrics::gauge!("dashboard_event_streams").increment(1.0);
        Self { _permit: permit }
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        metrics::gauge!("dashboard_event_streams").decrement(1.0);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
}

impl ApiError {
    /// The status and code the API answers this with (and a server-rendered page reports).
    pub fn status(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status();
        apiary_chassis::json_error(status, code, self.to_string())
    }
}

fn limit(raw: Option<&str>, default: usize, max: usize) -> Result<usize, ApiError> {
    match raw {
        None => Ok(default),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::BadRequest(format!(
                "limit must be a whole number from 1 to {max}"
            ))),
        },
    }
}

/// A parameter's value when it is given and not empty.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

fn attrs(a: &Attrs) -> Attributes {
    a.decode()
        .into_iter()
        .map(|a| {
            let value = match a.value {
                AttrValue::Str(s) => serde_json::Value::from(&*s),
                AttrValue::Int(i) => serde_json::Value::from(i),
                // A non-finite double has no JSON number: it is shown as null.
                AttrValue::Double(d) => serde_json::Value::from(d),
                AttrValue::Bool(b) => serde_json::Value::from(b),
            };
            (a.key.to_string(), value)
        })
        .collect()
}

fn ms(nanos: u64) -> f64 {
    (nanos as f64 / 1e4).round() / 100.0
}

/// A held span as the API shows it (its names are resolved in the store that holds it).
fn span_view(store: &SpanStore, s: &StoredSpan) -> Span {
    Span {
        trace_id: hex(&s.trace_id),
        span_id: hex(&s.span_id),
        parent_span_id: s.parent_span_id.map(|p| hex(&p)),
        service: store.name(s.service).to_owned(),
        name: store.name(s.name).to_owned(),
        kind: s.kind,
        start_unix_nano: s.start_unix_nano,
        end_unix_nano: s.end_unix_nano,
        duration_ms: ms(s.duration_nanos()),
        error: s.error,
        status_message: s.status_message().map(str::to_owned),
        rejected: s.rejected(),
        attributes: attrs(&s.attributes),
        events: s
            .events()
            .iter()
            .map(|e| SpanEvent {
                time_unix_nano: e.time_unix_nano,
                name: e.name.to_string(),
                attributes: attrs(&e.attributes),
            })
            .collect(),
        links: s
            .links()
            .iter()
            .map(|l| dashboard_api::SpanLink {
                trace_id: hex(&l.trace_id),
                span_id: hex(&l.span_id),
            })
            .collect(),
        percentile: None,
    }
}

/// How far back a span's percentile looks: the same operation's spans that ended in the five
/// minutes up to the trace's end.
const PERCENTILE_WINDOW_S: u32 = 300;
/// Fewer spans of an operation than this, and no percentile is given.
const PERCENTILE_MIN_SAMPLES: usize = 20;
/// The most spans walked (newest first) per service, so a trace's page costs the same
/// however much the store holds.
const PERCENTILE_MAX_WALK: usize = 100_000;

/// Each span's percentile among the same operation's recent ones, by (service, span name).
fn percentiles(
    store: &SpanStore,
    held: &[&StoredSpan],
) -> std::collections::HashMap<(Name, Name), Vec<f64>> {
    use std::collections::HashMap;
    let end = held.iter().map(|s| s.end_unix_nano).max().unwrap_or(0);
    let from = end.saturating_sub(u64::from(PERCENTILE_WINDOW_S) * 1_000_000_000);
    let mut wanted: HashMap<Name, HashSet<Name>> = HashMap::new();
    for s in held {
        wanted.entry(s.service).or_default().insert(s.name);
    }
    let mut out = HashMap::new();
    for (service, names) in wanted {
        let mut samples: HashMap<Name, Vec<f64>> = HashMap::new();
        for s in store
            .newest(Some(store.name(service)))
            .take(PERCENTILE_MAX_WALK)
        {
            if s.end_unix_nano < from || s.end_unix_nano > end || !names.contains(&s.name) {
                continue;
            }
            samples
                .entry(s.name)
                .or_default()
                .push(s.duration_nanos() as f64 / 1e6);
        }
        for (name, mut durations) in samples {
            if durations.len() >= PERCENTILE_MIN_SAMPLES {
                durations.sort_by(f64::total_cmp);
                out.insert((service, name), durations);
            }
        }
    }
    out
}

/// Spans of other traces that link into trace `id` (at most 50, newest first).
fn linked_from(store: &SpanStore, id: &crate::model::TraceId) -> Vec<dashboard_api::LinkedFrom> {
    store
        .newest(None)
        .filter(|s| &s.trace_id != id)
        .flat_map(|s| {
            s.links()
                .iter()
                .filter(|l| &l.trace_id == id)
                .map(move |l| dashboard_api::LinkedFrom {
                    trace_id: hex(&s.trace_id),
                    span_id: hex(&s.span_id),
                    service: store.name(s.service).to_owned(),
                    name: store.name(s.name).to_owned(),
                    to_span_id: hex(&l.span_id),
                })
        })
        .take(50)
        .collect()
}

/// A held log record, with its arrival number (`?after=` that returns only later ones).
fn log_view((seq, l): (u64, &StoredLog)) -> LogRecord {
    LogRecord {
        seq,
        time_unix_nano: l.time_unix_nano,
        severity_number: l.severity_number,
        severity_text: l.severity_text.to_string(),
        body: l.body.to_string(),
        service: l.service.to_string(),
        trace_id: l.trace_id.map(|t| hex(&t)),
        span_id: l.span_id.map(|s| hex(&s)),
        attributes: attrs(&l.attributes),
    }
}

fn summarize(store: &SpanStore, spans: &[&StoredSpan]) -> Option<TraceSummary> {
    let first = spans.first()?;
    let ids: HashSet<[u8; 8]> = spans.iter().map(|s| s.span_id).collect();
    // The root: no parent, or a parent that is not held; earliest wins.
    let root = spans
        .iter()
        .filter(|s| s.parent_span_id.is_none_or(|p| !ids.contains(&p)))
        .min_by_key(|s| s.start_unix_nano)
        .unwrap_or(first);
    let start = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
    let end = spans.iter().map(|s| s.end_unix_nano).max().unwrap_or(start);
    let mut services: Vec<String> = spans
        .iter()
        .map(|s| store.name(s.service).to_owned())
        .collect();
    services.sort();
    services.dedup();
    let failed = spans.iter().any(|s| s.failed());
    Some(TraceSummary {
        trace_id: hex(&first.trace_id),
        root_service: store.name(root.service).to_owned(),
        root_name: store.name(root.name).to_owned(),
        start_unix_nano: start,
        duration_ms: ms(end.saturating_sub(start)),
        span_count: spans.len(),
        error: failed,
        services,
        rejected: !failed && spans.iter().any(|s| s.rejected()),
    })
}

/// Trace search: newest first (by end time).
pub fn search_traces(store: &Store, filter: &TraceFilter<'_>, limit: usize) -> Vec<TraceSummary> {
    let Ok(spans) = store.spans.read() else {
        return Vec::new();
    };
    spans
        .search(filter, limit)
        .iter()
        .filter_map(|id| summarize(&spans, &spans.trace(id)))
        .collect()
}

/// A unix-ms time parameter, as nanoseconds.
fn unix_ms(name: &str, raw: Option<&str>) -> Result<Option<u64>, ApiError> {
    raw.map(|raw| {
        raw.parse::<u64>()
            .ok()
            .and_then(|ms| ms.checked_mul(1_000_000))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("{name} must be a time in unix milliseconds"))
            })
    })
    .transpose()
}

/// `GET /api/traces`: the search `q` asks for, checked. What the handler and the server-side
/// pages both call.
pub fn find_traces(s: &ApiState, q: &TraceSearch) -> Result<Vec<TraceSummary>, ApiError> {
    let status = match given(&q.status) {
        None => TraceStatus::Any,
        Some("error") => TraceStatus::Failed,
        Some("rejected") => TraceStatus::Rejected,
        Some("ok") => TraceStatus::Ok,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "status '{}' must be error, rejected or ok",
                other.chars().take(40).collect::<String>()
            )));
        }
    };
    let min = match given(&q.min_duration_ms) {
        None => 0.0,
        Some(raw) => raw
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                ApiError::BadRequest("min_duration_ms must be a number, 0 or more".into())
            })?,
    };
    let from = unix_ms("from_ms", given(&q.from_ms))?;
    let to = unix_ms("to_ms", given(&q.to_ms))?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::BadRequest(
            "from_ms must not be after to_ms".into(),
        ));
    }
    let route = given(&q.route);
    if route.is_some_and(|r| r.len() > 200) {
        return Err(ApiError::BadRequest(
            "route must be at most 200 characters".into(),
        ));
    }
    let limit = limit(given(&q.limit), 20, 1000)?;
    let filter = TraceFilter {
        service: given(&q.service),
        status,
        min_duration_nanos: (min * 1e6) as u64,
        route,
        from_unix_nano: from.unwrap_or(0),
        to_unix_nano: to.unwrap_or(u64::MAX),
    };
    Ok(search_traces(&s.store, &filter, limit))
}

async fn traces(
    State(s): State<ApiState>,
    q: Result<Query<TraceSearch>, QueryRejection>,
) -> Result<Json<Vec<TraceSummary>>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    find_traces(&s, &q).map(Json)
}

fn trace_id(raw: &str) -> Result<[u8; 16], ApiError> {
    parse_trace_id(raw).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "'{}' is not a 32-character hex trace id",
            raw.chars().take(40).collect::<String>()
        ))
    })
}

/// `GET /api/traces/{trace_id}`: the trace's spans (by start), each with its percentile among
/// the same operation's recent spans, and its logs.
pub fn trace_detail(s: &ApiState, raw: &str) -> Result<TraceDetail, ApiError> {
    let id = trace_id(raw)?;
    let (summary, spans, linked) = {
        let store = read_spans(s)?;
        let (summary, spans) = held_spans(&store, &id, raw, true)?;
        (summary, spans, linked_from(&store, &id))
    };
    let logs: Vec<LogRecord> = s
        .store
        .logs
        .read()
        .map(|l| l.of_trace(&id).into_iter().map(log_view).collect())
        .unwrap_or_default();
    Ok(TraceDetail {
        summary,
        spans,
        logs,
        linked_from: linked,
    })
}

fn read_spans(s: &ApiState) -> Result<std::sync::RwLockReadGuard<'_, SpanStore>, ApiError> {
    s.store
        .spans
        .read()
        .map_err(|_| ApiError::NotFound("store unavailable".into()))
}

/// A held trace's summary and its spans by start, each with its percentile when `ranked`.
fn held_spans(
    store: &SpanStore,
    id: &crate::model::TraceId,
    raw: &str,
    ranked: bool,
) -> Result<(TraceSummary, Vec<Span>), ApiError> {
    let held = store.trace(id);
    let summary = summarize(store, &held)
        .ok_or_else(|| ApiError::NotFound(format!("no trace {raw} is held")))?;
    let ranks = if ranked {
        percentiles(store, &held)
    } else {
        Default::default()
    };
    let mut spans: Vec<Span> = held
        .into_iter()
        .map(|span| {
            let mut view = span_view(store, span);
            if let Some(sorted) = ranks.get(&(span.service, span.name)) {
                view.percentile = Some(SpanPercentile {
                    rank: SpanPercentile::rank_in(sorted, view.duration_ms),
                    samples: u32::try_from(sorted.len()).unwrap_or(u32::MAX),
                    window_s: PERCENTILE_WINDOW_S,
                    p50_ms: SpanPercentile::quantile(sorted, 0.5),
                    p99_ms: SpanPercentile::quantile(sorted, 0.99),
                });
            }
            view
        })
        .collect();
    spans.sort_by_key(|s| s.start_unix_nano);
    Ok((summary, spans))
}

/// `GET /api/traces/compare?a=&b=`'s parameters.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ComparePair {
    pub a: Option<String>,
    pub b: Option<String>,
}

/// `GET /api/traces/compare`: trace a and trace b side by side (their spans only: no logs,
/// no links, no percentiles).
pub fn compare_traces(s: &ApiState, a: &str, b: &str) -> Result<TraceComparison, ApiError> {
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() || b.is_empty() {
        return Err(ApiError::BadRequest(
            "give two trace ids to compare: a and b".into(),
        ));
    }
    let (a_id, b_id) = (trace_id(a)?, trace_id(b)?);
    let store = read_spans(s)?;
    let side = |id, raw| {
        held_spans(&store, id, raw, false).map(|(summary, spans)| TraceDetail {
            summary,
            spans,
            ..TraceDetail::default()
        })
    };
    Ok(dashboard_api::compare(&side(&a_id, a)?, &side(&b_id, b)?))
}

async fn compare(
    State(s): State<ApiState>,
    q: Result<Query<ComparePair>, QueryRejection>,
) -> Result<Json<TraceComparison>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    compare_traces(
        &s,
        q.a.as_deref().unwrap_or(""),
        q.b.as_deref().unwrap_or(""),
    )
    .map(Json)
}

async fn trace(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
) -> Result<Json<TraceDetail>, ApiError> {
    trace_detail(&s, &raw).map(Json)
}

fn min_severity(raw: &str) -> Result<i32, ApiError> {
    Ok(match raw.to_ascii_lowercase().as_str() {
        "trace" => 1,
        "debug" => 5,
        "info" => 9,
        "warn" | "warning" => 13,
        "error" => 17,
        "fatal" => 21,
        other => {
            return Err(ApiError::BadRequest(format!(
                "severity '{other}' must be trace, debug, info, warn, error or fatal"
            )));
        }
    })
}

/// `GET /api/logs`: the records `q` asks for, newest first, checked.
pub fn find_logs(s: &ApiState, q: &LogSearch) -> Result<Vec<LogRecord>, ApiError> {
    let min = given(&q.severity)
        .map(min_severity)
        .transpose()?
        .unwrap_or(0);
    let trace = given(&q.trace_id).map(trace_id).transpose()?;
    let text = given(&q.q).map(str::to_lowercase);
    if text.as_ref().is_some_and(|t| t.len() > 200) {
        return Err(ApiError::BadRequest(
            "q is longer than 200 characters".into(),
        ));
    }
    let limit = limit(given(&q.limit), 100, 1000)?;
    let after = match given(&q.after) {
        None => None,
        Some(raw) => Some(raw.parse::<u64>().map_err(|_| {
            ApiError::BadRequest("after must be a log's seq (a whole number)".into())
        })?),
    };
    let is_new = |(seq, _): &(u64, &StoredLog)| after.is_none_or(|a| *seq > a);
    let store = s
        .store
        .logs
        .read()
        .map_err(|_| ApiError::NotFound("store unavailable".into()))?;
    let matches = |(_, l): &(u64, &StoredLog)| {
        l.severity_number >= min
            && trace.is_none_or(|t| l.trace_id == Some(t))
            && text
                .as_deref()
                .is_none_or(|t| l.body.to_lowercase().contains(t))
    };
    let out = match (trace, given(&q.service)) {
        (Some(t), service) => store
            .of_trace(&t)
            .into_iter()
            .rev()
            .take_while(is_new)
            .filter(|(_, l)| service.is_none_or(|svc| *l.service == *svc))
            .filter(matches)
            .take(limit)
            .map(log_view)
            .collect(),
        (None, service) => store
            .newest(service)
            .take_while(is_new)
            .filter(matches)
            .take(limit)
            .map(log_view)
            .collect(),
    };
    Ok(out)
}

async fn logs(
    State(s): State<ApiState>,
    q: Result<Query<LogSearch>, QueryRejection>,
) -> Result<Json<Vec<LogRecord>>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    find_logs(&s, &q).map(Json)
}

async fn services(State(s): State<ApiState>) -> Response {
    Json(s.snapshots.borrow().services.clone()).into_response()
}

/// `GET /api/services/{name}`: one watched service in detail.
pub fn service_detail(s: &ApiState, name: &str) -> Result<ServiceDetail, ApiError> {
    let snap = s.snapshots.borrow().clone();
    snap.details.get(name).cloned().ok_or_else(|| {
        ApiError::NotFound(format!(
            "no service '{}' is watched",
            name.chars().take(64).collect::<String>()
        ))
    })
}

async fn service(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<ServiceDetail>, ApiError> {
    service_detail(&s, &name).map(Json)
}

/// A browser's report that it showed snapshot `at` (see [`crate::seen`]): `{"at": <Unix
/// ms>}`, sent with `navigator.sendBeacon` (so as text/plain); 204, or a JSON error.
async fn seen(
    State(s): State<ApiState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if apiary_chassis::csrf::is_cross_site(&headers, None) {
        return apiary_chassis::json_error(
            StatusCode::FORBIDDEN,
            "cross_site",
            "reports from another site are refused",
        );
    }
    if body.len() > crate::seen::MAX_BODY {
        return apiary_chassis::json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("a report is at most {} bytes", crate::seen::MAX_BODY),
        );
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Seen {
        at: u64,
    }
    match serde_json::from_slice::<Seen>(&body) {
        Ok(r) => {
            s.seen.note(r.at, crate::monitor::now_ms());
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => {
            ApiError::BadRequest(format!("expected {{\"at\": <Unix ms>}}: {e}")).into_response()
        }
    }
}

/// The snapshot's diagnosis, or an empty one (nothing is wrong).
fn diagnosis(s: &ApiState) -> dashboard_api::Diagnosis {
    let snap = s.snapshots.borrow().clone();
    snap.view
        .diagnosis
        .clone()
        .unwrap_or(dashboard_api::Diagnosis {
            at: snap.view.at,
            ..dashboard_api::Diagnosis::default()
        })
}

async fn cause(State(s): State<ApiState>) -> Response {
    Json(diagnosis(&s)).into_response()
}

/// The causes that name `name` or explain its symptoms.
async fn service_cause(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<dashboard_api::Diagnosis>, ApiError> {
    service_detail(&s, &name)?;
    let mut d = diagnosis(&s);
    d.causes.retain(|c| {
        c.service.as_deref() == Some(name.as_str())
            || c.peer.as_deref() == Some(name.as_str())
            || c.explains.iter().any(|e| e == &name)
    });
    d.symptoms.retain(|x| {
        x.split([' ', ':']).next() == Some(name.as_str()) || x.contains(&format!(" {name}"))
    });
    d.changes
        .retain(|c| c.service.as_deref().is_none_or(|x| x == name));
    Ok(Json(d))
}

async fn topology(State(s): State<ApiState>) -> Response {
    Json(s.snapshots.borrow().topology.clone()).into_response()
}

async fn business(State(s): State<ApiState>) -> Response {
    Json(s.snapshots.borrow().business.clone()).into_response()
}

async fn store_stats(State(s): State<ApiState>) -> Response {
    Json(s.store.stats()).into_response()
}

/// A snapshot as the event stream sends it (and `GET /api/snapshot` answers), as JSON: with
/// the dashboard's own warning when it runs unsecured. Only then is the snapshot copied (this
/// runs for every open stream twice a second).
pub fn snapshot_json(snap: &Snapshot, warning: Option<&str>) -> String {
    let json = match warning {
        None => serde_json::to_string(&snap.view),
        Some(_) => serde_json::to_string(&snapshot_view(snap, warning)),
    };
    json.unwrap_or_default()
}

/// The snapshot as [`snapshot_json`] writes it, as a value (a server-rendered page's first
/// paint).
pub fn snapshot_view(snap: &Snapshot, warning: Option<&str>) -> SnapshotView {
    match warning {
        None => snap.view.clone(),
        Some(w) => SnapshotView {
            warning: Some(w.to_owned()),
            ..snap.view.clone()
        },
    }
}

/// The current snapshot once: what the UI renders its first paint from.
async fn snapshot(State(s): State<ApiState>) -> Response {
    let snap = s.snapshots.borrow().clone();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        snapshot_json(&snap, s.unsecured_warning),
    )
        .into_response()
}

/// Server-sent events: a `snapshot` event whenever the monitor publishes one (every scrape).
/// The snapshot stream, or a 503 with `Retry-After` when every stream slot is taken.
async fn events(State(s): State<ApiState>) -> Response {
    let Ok(permit) = s.event_streams.clone().try_acquire_owned() else {
        let mut resp = apiary_chassis::json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            "every event stream slot is taken (DASHBOARD_MAX_EVENT_STREAMS); retry later",
        )
        .into_response();
        resp.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
        return resp;
    };
    let slot = StreamSlot::new(permit);
    let warning = s.unsecured_warning;
    let stream = WatchStream::new(s.snapshots.clone()).map(move |snap| {
        // The slot lives as long as the stream: it is given back when the client leaves.
        let _slot = &slot;
        let data = snapshot_json(&snap, warning);
        Ok::<_, Infallible>(Event::default().event("snapshot").data(data))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/services", get(services))
        .route("/api/services/{name}", get(service))
        .route("/api/services/{name}/cause", get(service_cause))
        .route("/api/cause", get(cause))
        .route("/api/seen", axum::routing::post(seen))
        .route("/api/traces", get(traces))
        .route("/api/traces/compare", get(compare))
        .route("/api/traces/{trace_id}", get(trace))
        .route("/api/logs", get(logs))
        .route("/api/topology", get(topology))
        .route("/api/business", get(business))
        .route("/api/store", get(store_stats))
        .route("/api/snapshot", get(snapshot))
        .route("/api/events", get(events))
        .route("/api/openapi.json", get(openapi))
        .with_state(state)
}
