//! `/api/faults`, `/api/drills`, `/api/load`.

use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::sync::Arc;

use apiary_chassis::extract::Json;
use apiary_chassis::json_error;
use apiary_faults::FaultSpec;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use dashboard_api::{DrillInfo, Drills, RunInfo, Runs};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Control;
use super::faults::{FaultError, FaultRequest};
use super::runner::{self, GameDay, Report, Verdict};

type Shared = State<Arc<Control>>;

/// Why the control routes answer 503 when there is no stack manifest.
pub const CONTROL_UNAVAILABLE: &str =
    "faults, drills and load control need the stack manifest (APIARY_MANIFEST)";

/// A drill run that is neither running nor on file.
#[derive(Debug, thiserror::Error)]
#[error("no drill run {0:?}")]
pub struct RunNotFound(String);

/// The control routes; without a manifest (no stack to control) every one answers 503.
pub fn router(control: Option<Arc<Control>>) -> Router {
    let Some(control) = control else {
        let unavailable = || async {
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "control_unavailable",
                CONTROL_UNAVAILABLE,
            )
        };
        return Router::new()
            .route("/api/faults", get(unavailable).post(unavailable))
            .route("/api/drills", get(unavailable))
            .route("/api/load", get(unavailable))
            .route("/api/scale", get(unavailable).post(unavailable));
    };
    Router::new()
        .route("/api/faults", get(list_faults).post(set_fault))
        .route("/api/faults/reset", post(reset_faults))
        .route("/api/faults/audit", get(audit))
        .route("/api/faults/{id}", delete(clear_fault))
        .route("/api/drills", get(list_drills))
        .route("/api/drills/gameday", post(game_day))
        .route("/api/drills/runs", get(list_runs))
        .route("/api/drills/runs/{id}", get(get_run))
        .route("/api/drills/runs/{id}/stop", post(stop_run))
        .route("/api/drills/{name}", get(get_drill))
        .route("/api/drills/{name}/run", post(run_drill))
        .route("/api/load", get(load_status))
        .route("/api/load/{action}", post(load_change))
        .route("/api/scale", get(scale_status).post(scale_change))
        .route_layer(axum::middleware::from_fn_with_state(control.clone(), guard))
        .with_state(control)
}

/// Changes need the control token and must not come from another site.
async fn guard(State(control): Shared, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let authority = req.uri().authority().map(|a| a.as_str().to_owned());
    if apiary_chassis::csrf::is_cross_site(req.headers(), authority.as_deref()) {
        tracing::warn!(path = %req.uri().path(), "cross-site control request refused");
        return json_error(
            StatusCode::FORBIDDEN,
            "cross_site",
            "control requests from another site are refused",
        );
    }
    let ok = crate::security::bearer(req.headers())
        .is_some_and(|given| crate::security::same(given, control.token.expose_secret()));
    if !ok {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "control changes need the control token: Authorization: Bearer <token> \
             (`apiary` reads it from <data_dir>/control.token)",
        );
    }
    next.run(req).await
}

/// Who asked: `X-Apiary-Actor` (printable, at most 64 characters), else `api`.
fn actor(headers: &HeaderMap) -> String {
    headers
        .get("x-apiary-actor")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect::<String>()
        })
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "api".to_owned())
}

fn fault_error(e: &FaultError) -> Response {
    let (status, code) = e.status_and_code();
    json_error(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        code,
        e.to_string(),
    )
}

fn unprocessable(code: &str, message: impl Into<String>) -> Response {
    json_error(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

async fn list_faults(State(c): Shared) -> Response {
    axum::Json(json!({
        "active": c.faults.list().await,
        "kinds": FaultSpec::KINDS,
        "caps": c.faults.caps(),
        "flags_file": c.faults.flags_path().display().to_string(),
    }))
    .into_response()
}

async fn set_fault(State(c): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let req = match FaultRequest::from_json(body) {
        Ok(r) => r,
        Err(e) => {
            return unprocessable(
                "invalid_fault",
                format!(
                    "{e}; kinds: {}; every fault needs ttl_s",
                    FaultSpec::KINDS.join(", ")
                ),
            );
        }
    };
    match c.faults.activate(req, &actor(&headers), None).await {
        Ok(f) => (StatusCode::CREATED, axum::Json(f)).into_response(),
        Err(e) => fault_error(&e),
    }
}

async fn clear_fault(State(c): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    match c.faults.clear(&id, &actor(&headers), "fault.clear").await {
        Ok(f) => axum::Json(f).into_response(),
        Err(e) => fault_error(&e),
    }
}

async fn reset_faults(State(c): Shared, headers: HeaderMap, Json(_): Json<Value>) -> Response {
    match c.faults.reset(&actor(&headers), None).await {
        Ok(n) => axum::Json(json!({"cleared": n})).into_response(),
        Err(e) => fault_error(&e),
    }
}

async fn audit(State(c): Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let limit = match q.get("limit").map(|v| v.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=10_000).contains(&n) => n,
        Some(_) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "limit must be a whole number from 1 to 10000",
            );
        }
    };
    axum::Json(json!({"entries": c.faults.audit().tail(limit)})).into_response()
}

async fn list_drills(State(c): Shared) -> Response {
    axum::Json(drills(&c)).into_response()
}

/// `GET /api/drills`: every drill in the drills directory, with its problems if it has any.
/// What the handler and the server-side drills page both call.
pub fn drills(c: &Control) -> Drills {
    let drills = c
        .drills()
        .into_values()
        .map(|l| DrillInfo {
            title: l.drill.as_ref().map(|d| d.title.clone()),
            summary: l.drill.as_ref().map(|d| d.summary.clone()),
            max_duration_s: l.drill.as_ref().map(|d| d.max_duration_s),
            symptom: l.drill.as_ref().map(|d| d.symptom.condition.describe()),
            name: l.name,
            problems: l.problems,
        })
        .collect();
    Drills {
        drills,
        dir: c.drills_dir.display().to_string(),
    }
}

async fn get_drill(State(c): Shared, Path(name): Path<String>) -> Response {
    match c.drills().remove(&name) {
        Some(l) => axum::Json(l).into_response(),
        None => json_error(
            StatusCode::NOT_FOUND,
            "drill_not_found",
            format!(
                "no drill {name:?}; drills: {}",
                c.drills().into_keys().collect::<Vec<_>>().join(", ")
            ),
        ),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    /// Durations of the steady state and the schedule are multiplied by this (0.05 to 1).
    #[serde(default = "one")]
    time_scale: f64,
}

fn one() -> f64 {
    1.0
}

async fn running(c: &Control) -> Option<String> {
    c.runs
        .lock()
        .await
        .iter()
        .find(|(_, h)| h.report.borrow().verdict == Verdict::Running)
        .map(|(id, _)| id.clone())
}

async fn launch(
    c: &Arc<Control>,
    name: &str,
    drill: super::drill::Drill,
    time_scale: f64,
    actor: &str,
    seed: Option<u64>,
) -> Response {
    if let Some(id) = running(c).await {
        return json_error(
            StatusCode::CONFLICT,
            "drill_running",
            format!("drill run {id} is still running: stop it or wait"),
        );
    }
    let (id, handle) = runner::start(
        runner::RunRequest {
            name: name.to_owned(),
            drill,
            time_scale,
            actor: actor.to_owned(),
            game_day_seed: seed,
        },
        c.launcher.clone(),
        c.faults.clone(),
        c.snapshots.clone(),
        c.reports_dir.clone(),
        Some(runner::Sight {
            store: c.store.clone(),
            seen: c.seen.clone(),
        }),
    );
    let report = handle.report.borrow().clone();
    let mut runs = c.runs.lock().await;
    // Finished runs are read from their reports; only running ones need a handle.
    runs.retain(|_, h| h.report.borrow().verdict == Verdict::Running);
    runs.insert(id.clone(), handle);
    drop(runs);
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"id": id, "report": format!("/api/drills/runs/{id}"), "run": report})),
    )
        .into_response()
}

async fn run_drill(
    State(c): Shared,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let body: RunBody = match serde_json::from_value(body) {
        Ok(b) => b,
        Err(e) => return unprocessable("invalid_body", e.to_string()),
    };
    if !(0.05..=1.0).contains(&body.time_scale) {
        return unprocessable("invalid_time_scale", "time_scale must be 0.05 to 1");
    }
    let Some(listed) = c.drills().remove(&name) else {
        return json_error(
            StatusCode::NOT_FOUND,
            "drill_not_found",
            format!("no drill {name:?}"),
        );
    };
    let (Some(drill), true) = (listed.drill, listed.problems.is_empty()) else {
        return unprocessable("drill_invalid", listed.problems.join("; "));
    };
    launch(&c, &name, drill, body.time_scale, &actor(&headers), None).await
}

async fn game_day(State(c): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let g: GameDay = match serde_json::from_value(body) {
        Ok(g) => g,
        Err(e) => return unprocessable("invalid_game_day", e.to_string()),
    };
    let drill = match g.drill() {
        Ok(d) => d,
        Err(e) => return unprocessable("invalid_game_day", e.to_string()),
    };
    let problems = drill.problems(c.faults.shape(), &c.faults.caps());
    if !problems.is_empty() {
        return unprocessable("invalid_game_day", problems.join("; "));
    }
    launch(&c, "gameday", drill, 1.0, &actor(&headers), Some(g.seed)).await
}

/// Runs listed at most (the newest); `?limit=` asks for fewer or more, up to the reports kept.
pub const DEFAULT_RUNS_LISTED: usize = 50;

/// The newest `limit` runs: reports on disk (newest written first, only as many as asked
/// for are read) and the runs in progress, newest first.
async fn newest_runs(c: &Control, limit: usize) -> Vec<Report> {
    let mut by_id: std::collections::BTreeMap<String, Report> = std::collections::BTreeMap::new();
    for path in runner::report_files(&c.reports_dir).into_iter().take(limit) {
        if let Some(r) = runner::read_report(&path) {
            by_id.insert(r.id.clone(), r);
        }
    }
    for (id, h) in c.runs.lock().await.iter() {
        let live = h.report.borrow().clone();
        if live.verdict == Verdict::Running {
            by_id.insert(id.clone(), live);
        }
    }
    let mut runs: Vec<Report> = by_id.into_values().collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    runs.truncate(limit);
    runs
}

async fn list_runs(State(c): Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let limit = match q.get("limit").map(|v| v.parse::<usize>()) {
        None => DEFAULT_RUNS_LISTED,
        Some(Ok(n)) if (1..=runner::MAX_REPORTS).contains(&n) => n,
        Some(_) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!(
                    "limit must be a whole number from 1 to {}",
                    runner::MAX_REPORTS
                ),
            );
        }
    };
    axum::Json(runs(&c, limit).await).into_response()
}

/// `GET /api/drills/runs`: the newest `limit` runs.
pub async fn runs(c: &Control, limit: usize) -> Runs {
    let runs = newest_runs(c, limit)
        .await
        .iter()
        .map(RunInfo::from)
        .collect();
    Runs { runs }
}

/// One run: live while it runs, else its report file (read alone, not found by listing).
async fn get_run(State(c): Shared, Path(id): Path<String>) -> Response {
    match report(&c, &id).await {
        Ok(r) => axum::Json(r).into_response(),
        Err(e) => json_error(StatusCode::NOT_FOUND, "run_not_found", e.to_string()),
    }
}

/// `GET /api/drills/runs/{id}`: one run, live while it runs, else its report file (read
/// alone, not found by listing).
pub async fn report(c: &Control, id: &str) -> Result<Report, RunNotFound> {
    // A handle, while kept, is the run's own word; the file may trail it by a write.
    let live = c
        .runs
        .lock()
        .await
        .get(id)
        .map(|h| h.report.borrow().clone());
    live.or_else(|| runner::report_path(&c.reports_dir, id).and_then(|p| runner::read_report(&p)))
        .ok_or_else(|| RunNotFound(id.chars().take(200).collect()))
}

async fn stop_run(State(c): Shared, Path(id): Path<String>, Json(_): Json<Value>) -> Response {
    let runs = c.runs.lock().await;
    match runs.get(&id) {
        Some(h) if h.report.borrow().verdict == Verdict::Running => {
            let _ = h.stop.send(true);
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({"id": id, "stopping": true})),
            )
                .into_response()
        }
        Some(_) => json_error(
            StatusCode::CONFLICT,
            "run_finished",
            format!("{id} has already ended"),
        ),
        // Finished runs keep no handle, only their report.
        None if runner::report_path(&c.reports_dir, &id).is_some_and(|p| p.is_file()) => {
            json_error(
                StatusCode::CONFLICT,
                "run_finished",
                format!("{id} has already ended"),
            )
        }
        None => json_error(
            StatusCode::NOT_FOUND,
            "run_not_found",
            format!(
                "no drill run {:?}",
                id.chars().take(200).collect::<String>()
            ),
        ),
    }
}

async fn load_status(State(c): Shared) -> Response {
    let Some(load) = &c.load else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_load_generator",
            "no load generator is configured (APIARY_LOAD_URL)",
        );
    };
    match load.status().await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => json_error(
            StatusCode::BAD_GATEWAY,
            "load_generator_failed",
            e.to_string(),
        ),
    }
}

async fn load_change(
    State(c): Shared,
    headers: HeaderMap,
    Path(action): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(load) = &c.load else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_load_generator",
            "no load generator is configured (APIARY_LOAD_URL)",
        );
    };
    if !["rate", "profile", "pause", "resume"].contains(&action.as_str()) {
        return json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "load actions: rate, profile, pause, resume",
        );
    }
    let result = load.post(&action, &body).await;
    c.faults.audit().record(&super::audit::Entry {
        at: crate::monitor::now_ms(),
        actor: actor(&headers),
        action: "load.change".into(),
        id: None,
        detail: json!({"action": action, "body": body, "ok": result.is_ok()}),
    });
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(super::load::LoadError::Refused { status, body }) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            axum::Json(body),
        )
            .into_response(),
        Err(e) => json_error(
            StatusCode::BAD_GATEWAY,
            "load_generator_failed",
            e.to_string(),
        ),
    }
}

fn no_launcher() -> Response {
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "no_launcher",
        "no launcher runs this stack (APIARY_LAUNCHER_URL): `apiary up` scales it live; in compose \
         use `docker compose up --scale SERVICE=N`, in Kubernetes `kubectl scale` or the autoscaler",
    )
}

fn launcher_error(e: super::scale::ScaleError) -> Response {
    match e {
        super::scale::ScaleError::Refused { status, body } => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            axum::Json(body),
        )
            .into_response(),
        e @ super::scale::ScaleError::Unreachable(_) => {
            json_error(StatusCode::BAD_GATEWAY, "launcher_failed", e.to_string())
        }
    }
}

async fn scale_status(State(c): Shared) -> Response {
    let Some(launcher) = &c.launcher else {
        return no_launcher();
    };
    match launcher.instances().await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => launcher_error(e),
    }
}

/// `{"service": "catalog", "replicas": 3, "reason": "..."}`: asks the launcher, audits the
/// change and marks it on the service's charts.
async fn scale_change(State(c): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let Some(launcher) = &c.launcher else {
        return no_launcher();
    };
    let service = body["service"].as_str().unwrap_or_default().to_owned();
    let Some(replicas) = body["replicas"].as_u64() else {
        return unprocessable(
            "invalid_scale",
            "send {\"service\": NAME, \"replicas\": N} with N a whole number",
        );
    };
    if service.is_empty() || !c.faults.shape().services.contains_key(&service) {
        return json_error(
            StatusCode::NOT_FOUND,
            "unknown_service",
            format!(
                "unknown service {:?}; valid services: {}",
                service.chars().take(64).collect::<String>(),
                c.faults
                    .shape()
                    .services
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let before = launcher.instances().await.ok().and_then(|v| {
        v["services"]
            .as_array()?
            .iter()
            .find_map(|g| (g["service"] == service.as_str()).then(|| g["replicas"].as_u64())?)
    });
    let result = launcher.scale(&service, replicas).await;
    let at = crate::monitor::now_ms();
    c.faults.audit().record(&super::audit::Entry {
        at,
        actor: actor(&headers),
        action: "scale".into(),
        id: None,
        detail: json!({"service": service, "from": before, "replicas": replicas,
            "reason": body.get("reason"), "ok": result.is_ok()}),
    });
    match result {
        Ok(v) => {
            if before != Some(replicas) {
                let id = c.faults.annotations().open(crate::monitor::FaultWindow {
                    kind: "scale".into(),
                    name: format!(
                        "{service}: {} -> {replicas} instances",
                        before.map_or_else(|| "?".to_owned(), |b| b.to_string())
                    ),
                    service: Some(service.clone()),
                    start: at,
                    end: None,
                });
                c.faults.annotations().close(id, at);
            }
            axum::Json(v).into_response()
        }
        Err(e) => launcher_error(e),
    }
}
