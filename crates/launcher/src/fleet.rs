//! The running services' instances, and live scaling.
//!
//! Every service instance is supervised on its own (own stop signal), so one can be added or
//! removed while the rest run on. The launcher keeps `<data dir>/endpoints/<service>.json`
//! (every instance's id and URL) current: callers' balancers and the dashboard's scraper read
//! it. An instance joins the file once it is ready and leaves it a moment before it is
//! stopped, so callers stop choosing it before it drains.
//!
//! The launcher's control API (the stack's host, a free port handed to the dashboard in
//! `APIARY_LAUNCHER_URL`; the control token required) serves `GET /instances` and `PUT /scale/{service}`
//! (`{"replicas": N}`); the dashboard's control plane calls it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_manifest::Manifest;
use apiary_wire::discovery::{self, Endpoints, Instance};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{Mutex, watch};

use crate::output;
use crate::plan::{PlannedService, instance_of};
use crate::supervisor::{self, StopMode, Supervised};

/// The dashboard's variable for the launcher's control API.
pub const LAUNCHER_URL_VAR: &str = "APIARY_LAUNCHER_URL";
/// How long callers get to stop choosing an instance before it is stopped (they re-read the
/// endpoints file every second).
const LEAVE_GRACE: Duration = Duration::from_millis(1500);
/// How long a new instance may take to become ready.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

struct Running {
    planned: PlannedService,
    stop: watch::Sender<StopMode>,
    supervised: Supervised,
}

struct Group {
    service: apiary_manifest::Service,
    /// Instance 1's plan: what every further instance is made from.
    template: PlannedService,
    instances: Vec<Running>,
}

/// Every started service's instances.
pub struct Fleet {
    groups: Mutex<BTreeMap<String, Group>>,
    endpoints_dir: PathBuf,
    /// Ports other parts of the stack own (never given to a new instance).
    fixed_ports: BTreeMap<u16, String>,
    /// The manifest's services (some may not have been started: `--only`).
    names: Vec<String>,
    stop_timeout: Duration,
    global: watch::Receiver<StopMode>,
}

/// One instance as the control API lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InstanceView {
    pub id: String,
    pub url: String,
    /// Its process id now (absent between restarts).
    pub pid: Option<u32>,
}

/// One service's instances.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GroupView {
    pub service: String,
    pub replicas: usize,
    /// Whether it may run more than one (it keeps no state).
    pub scalable: bool,
    pub instances: Vec<InstanceView>,
}

/// Why a scale request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    #[error("unknown service '{0}'; valid services: {1}")]
    Unknown(String, String),
    #[error("'{0}' was not started by this launcher (see --only)")]
    NotStarted(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

impl ScaleError {
    fn status(&self) -> StatusCode {
        match self {
            ScaleError::Unknown(..) => StatusCode::NOT_FOUND,
            ScaleError::NotStarted(_) => StatusCode::CONFLICT,
            ScaleError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ScaleError::Failed(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ScaleError::Unknown(..) => "unknown_service",
            ScaleError::NotStarted(_) => "not_started",
            ScaleError::Refused(_) => "cannot_scale",
            ScaleError::Failed(_) => "scale_failed",
        }
    }
}

impl Fleet {
    /// The fleet of `services` (the planned instances of the manifest's services; the
    /// dashboard is not one), each supervised once [`Fleet::start`] runs.
    pub fn new(
        manifest: &Manifest,
        data_dir: &Path,
        stop_timeout: Duration,
        global: watch::Receiver<StopMode>,
    ) -> Self {
        Self {
            groups: Mutex::new(BTreeMap::new()),
            endpoints_dir: data_dir.join(discovery::ENDPOINTS_DIR),
            fixed_ports: manifest.fixed_ports(),
            names: manifest.names(),
            stop_timeout,
            global,
        }
    }

    /// Writes every service's endpoints file and starts every instance. Instances listed in the
    /// files before they are ready are fine at start-up: nothing calls yet, and callers skip an
    /// instance that is not ready.
    pub async fn start(
        &self,
        manifest: &Manifest,
        planned: &[PlannedService],
    ) -> Result<(), std::io::Error> {
        std::fs::create_dir_all(&self.endpoints_dir)?;
        let mut groups = self.groups.lock().await;
        for p in planned {
            let Ok(service) = manifest.service(&p.service) else {
                continue;
            };
            let running = self.run(p.clone());
            groups
                .entry(p.service.clone())
                .or_insert_with(|| Group {
                    service: service.clone(),
                    template: p.clone(),
                    instances: Vec::new(),
                })
                .instances
                .push(running);
        }
        for group in groups.values() {
            self.write_endpoints(group)?;
        }
        Ok(())
    }

    fn run(&self, planned: PlannedService) -> Running {
        let (stop, rx) = watch::channel(StopMode::Running);
        // The stack's stop reaches every instance; an instance's own stop reaches only it.
        let mut global = self.global.clone();
        let forward = stop.clone();
        tokio::spawn(async move {
            loop {
                let mode = *global.borrow_and_update();
                if mode != StopMode::Running {
                    let _ = forward.send(mode);
                    if mode == StopMode::Kill {
                        return;
                    }
                }
                if global.changed().await.is_err() {
                    let _ = forward.send(StopMode::Graceful);
                    return;
                }
            }
        });
        let supervised = supervisor::supervise(planned.clone(), rx, self.stop_timeout);
        Running {
            planned,
            stop,
            supervised,
        }
    }

    fn write_endpoints(&self, group: &Group) -> std::io::Result<()> {
        let endpoints = Endpoints {
            service: group.service.name.clone(),
            instances: group
                .instances
                .iter()
                .map(|r| Instance {
                    id: discovery::instance_id(&group.service.name, r.planned.instance),
                    url: r.planned.url(),
                })
                .collect(),
        };
        let path = self
            .endpoints_dir
            .join(discovery::file_name(&group.service.name));
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(&endpoints).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)
    }

    /// Every service's instances now.
    pub async fn view(&self) -> Vec<GroupView> {
        let groups = self.groups.lock().await;
        groups.values().map(view_of).collect()
    }

    /// Hands every supervisor over (the stack is stopping; the stop signal reaches them).
    pub async fn drain(&self) -> Vec<Supervised> {
        let mut groups = self.groups.lock().await;
        groups
            .values_mut()
            .flat_map(|g| g.instances.drain(..).map(|r| r.supervised))
            .collect()
    }

    /// Runs `replicas` instances of `service`: new ones are started, waited for and then
    /// listed; surplus ones (the newest first) are unlisted, given a moment, then stopped.
    pub async fn scale(&self, service: &str, replicas: usize) -> Result<GroupView, ScaleError> {
        let mut groups = self.groups.lock().await;
        let valid = groups.keys().cloned().collect::<Vec<_>>().join(", ");
        let Some(group) = groups.get_mut(service) else {
            return Err(if self.names.iter().any(|n| n == service) {
                ScaleError::NotStarted(service.to_owned())
            } else {
                ScaleError::Unknown(service.to_owned(), valid)
            });
        };
        if let Some(why) = group.service.scaling_refusal(replicas) {
            return Err(ScaleError::Refused(why));
        }
        let from = group.instances.len();
        while group.instances.len() < replicas {
            let n = group.instances.len() + 1;
            let planned = instance_of(&group.template, &group.service, n)
                .map_err(|e| ScaleError::Refused(e.to_string()))?;
            if let Some(owner) = self.fixed_ports.get(&planned.port) {
                return Err(ScaleError::Refused(format!(
                    "instance {n} of '{service}' would listen on port {}, which '{owner}' uses",
                    planned.port
                )));
            }
            if let Err(e) = std::net::TcpListener::bind((planned.host.as_str(), planned.port)) {
                return Err(ScaleError::Failed(format!(
                    "port {} for {} is in use: {e}",
                    planned.port, planned.name
                )));
            }
            let running = self.run(planned);
            if let Err(why) = wait_ready(&running.planned).await {
                let _ = running.stop.send(StopMode::Graceful);
                let _ = running.supervised.task.await;
                return Err(ScaleError::Failed(format!(
                    "{} did not become ready: {why}",
                    running.planned.name
                )));
            }
            output::launcher(&format!(
                "{} joined {service} at {}",
                running.planned.name,
                running.planned.url()
            ));
            group.instances.push(running);
            self.write_endpoints(group)
                .map_err(|e| ScaleError::Failed(format!("cannot write the endpoints file: {e}")))?;
        }
        if group.instances.len() > replicas {
            let leaving = group.instances.split_off(replicas);
            self.write_endpoints(group)
                .map_err(|e| ScaleError::Failed(format!("cannot write the endpoints file: {e}")))?;
            tokio::time::sleep(LEAVE_GRACE).await;
            for r in &leaving {
                let _ = r.stop.send(StopMode::Graceful);
            }
            for r in leaving {
                let _ = r.supervised.task.await;
                output::launcher(&format!("{} left {service}", r.planned.name));
            }
        }
        if from != replicas {
            output::launcher(&format!("{service}: {from} -> {replicas} instance(s)"));
        }
        Ok(view_of(group))
    }
}

fn view_of(group: &Group) -> GroupView {
    GroupView {
        service: group.service.name.clone(),
        replicas: group.instances.len(),
        scalable: group.service.scaling_refusal(2).is_none(),
        instances: group
            .instances
            .iter()
            .map(|r| {
                let pid = r.supervised.pid.load(std::sync::atomic::Ordering::SeqCst);
                InstanceView {
                    id: discovery::instance_id(&group.service.name, r.planned.instance),
                    url: r.planned.url(),
                    pid: (pid != 0).then_some(pid),
                }
            })
            .collect(),
    }
}

/// Polls the instance's `/health/ready` until it answers 200.
async fn wait_ready(planned: &PlannedService) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("{}/health/ready", planned.url());
    let deadline = Instant::now() + JOIN_TIMEOUT;
    let mut last = String::from("not started");
    while Instant::now() < deadline {
        match client.get(&url).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("answered {}", r.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last)
}

#[derive(Clone)]
struct Api {
    fleet: Arc<Fleet>,
    token: Arc<str>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScaleBody {
    replicas: usize,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn authorised(api: &Api, headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| constant_time_eq(t.as_bytes(), api.token.as_bytes()))
}

fn denied() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "the launcher's control API needs the control token (Authorization: Bearer ...)",
    )
}

/// Compares without returning early at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn instances(State(api): State<Api>, headers: HeaderMap) -> Response {
    if !authorised(&api, &headers) {
        return denied();
    }
    Json(json!({"services": api.fleet.view().await})).into_response()
}

async fn scale(
    State(api): State<Api>,
    UrlPath(service): UrlPath<String>,
    headers: HeaderMap,
    body: Result<Json<ScaleBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if !authorised(&api, &headers) {
        return denied();
    }
    let Ok(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "send {\"replicas\": N}, a whole number",
        );
    };
    match api.fleet.scale(&service, body.replicas).await {
        Ok(view) => Json(view).into_response(),
        Err(e) => error(e.status(), e.code(), &e.to_string()),
    }
}

/// Serves the control API on `host`, a free port; returns its base URL. It stops with the
/// launcher.
pub async fn serve(fleet: Arc<Fleet>, host: &str, token: &str) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind((host, 0)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/instances", get(instances))
        .route("/scale/{service}", put(scale))
        .with_state(Api {
            fleet,
            token: Arc::from(token),
        });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            output::launcher(&format!("the launcher's control API stopped: {e}"));
        }
    });
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
