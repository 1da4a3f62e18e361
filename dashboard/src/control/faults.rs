//! Active faults: validation, caps, time-to-live, the flag file every service watches, the
//! load generator for traffic spikes, annotations and the audit log — all changed under one lock
//! so the file always says exactly what the list says.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use apiary_faults::{Caps, FaultSpec, FlagSet, Shape};
use serde::Serialize;
use serde_json::json;
use tokio::sync::Mutex;

use super::audit::{Audit, Entry};
use super::load::LoadClient;
use crate::monitor::{Annotations, FaultWindow, now_ms};

/// `POST /api/faults`: the fault (its `kind` and parameters), `ttl_s` and `reason` beside them.
#[derive(Debug, Clone)]
pub struct FaultRequest {
    pub spec: FaultSpec,
    /// Required: a fault without one is refused.
    pub ttl_s: Option<u64>,
    pub reason: Option<String>,
}

/// Why a fault request's body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BadFaultRequest {
    #[error("the body must be a JSON object")]
    NotAnObject,
    #[error("ttl_s must be a whole number of seconds, got {0}")]
    Ttl(serde_json::Value),
    #[error("reason must be a string, got {0}")]
    Reason(serde_json::Value),
    #[error(transparent)]
    Spec(#[from] serde_json::Error),
}

impl FaultRequest {
    /// Reads the request body; the spec's own fields are checked strictly (unknown ones refused).
    pub fn from_json(body: serde_json::Value) -> Result<Self, BadFaultRequest> {
        let serde_json::Value::Object(mut map) = body else {
            return Err(BadFaultRequest::NotAnObject);
        };
        let ttl_s = match map.remove("ttl_s") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or(BadFaultRequest::Ttl(v))?),
        };
        let reason = match map.remove("reason") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.chars().take(200).collect()),
            Some(v) => return Err(BadFaultRequest::Reason(v)),
        };
        let spec = serde_json::from_value(serde_json::Value::Object(map))?;
        Ok(Self {
            spec,
            ttl_s,
            reason,
        })
    }
}

/// One active fault.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActiveFault {
    pub id: String,
    pub kind: &'static str,
    pub label: String,
    pub spec: FaultSpec,
    pub services: Vec<String>,
    pub actor: String,
    pub reason: Option<String>,
    /// Unix milliseconds.
    pub started_at: u64,
    pub expires_at: u64,
    /// The drill run that set it, if any.
    pub drill_run: Option<String>,
    /// The flags this fault set (for people reading the file).
    pub flags: Vec<String>,
    #[serde(skip)]
    window: usize,
    /// A traffic spike's rate shape to restore.
    #[serde(skip)]
    restore_shape: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("every fault needs a time-to-live: give ttl_s (1 to {max} seconds)")]
    TtlRequired { max: u64 },
    #[error("ttl_s must be 1 to {max} seconds, got {got}")]
    TtlOutOfRange { max: u64, got: u64 },
    #[error("{0}")]
    Invalid(#[from] apiary_faults::InvalidFault),
    #[error("{active} faults are active, the cap is {cap}: clear one first")]
    TooMany { active: usize, cap: usize },
    #[error("{0}")]
    Conflict(String),
    #[error("no active fault {0}")]
    NotFound(String),
    #[error("a traffic spike needs the load generator, and none is configured")]
    NoLoad,
    #[error("{0}")]
    Load(String),
    #[error("cannot write the flag file {path}: {reason}")]
    Write { path: String, reason: String },
}

impl FaultError {
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            FaultError::TtlRequired { .. } => (422, "ttl_required"),
            FaultError::TtlOutOfRange { .. } => (422, "invalid_ttl"),
            FaultError::Invalid(_) => (422, "invalid_fault"),
            FaultError::TooMany { .. } => (409, "too_many_faults"),
            FaultError::Conflict(_) => (409, "fault_conflict"),
            FaultError::NotFound(_) => (404, "fault_not_found"),
            FaultError::NoLoad => (409, "no_load_generator"),
            FaultError::Load(_) => (502, "load_generator_failed"),
            FaultError::Write { .. } => (500, "flag_file_unwritable"),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    active: Vec<ActiveFault>,
    next_id: u64,
}

/// The fault registry.
#[derive(Debug)]
pub struct Faults {
    shape: Shape,
    caps: Caps,
    base: FlagSet,
    flags_path: PathBuf,
    audit: Arc<Audit>,
    annotations: Arc<Annotations>,
    load: Option<LoadClient>,
    state: Mutex<State>,
    /// The `(kind, service)` pairs [`FAULT_ACTIVE`] last said were on.
    published: std::sync::Mutex<BTreeSet<(&'static str, String)>>,
    /// The flag configuration last written (flagd JSON), for the flag sync service.
    flags: tokio::sync::watch::Sender<String>,
}

/// `apiary_fault_active{kind, service}`: 1 while a fault of that kind is on for that service
/// (`service="all"` for stack-wide ones), 0 once it ends, so any Prometheus (and Grafana's
/// annotations) can shade the fault windows.
pub const FAULT_ACTIVE: &str = "apiary_fault_active";

impl Faults {
    /// Takes over the flag file: writes the base flags (no fault survives a dashboard restart
    /// unseen) and records that in the audit log.
    pub fn start(
        shape: Shape,
        caps: Caps,
        base: FlagSet,
        flags_path: PathBuf,
        audit: Arc<Audit>,
        annotations: Arc<Annotations>,
        load: Option<LoadClient>,
    ) -> Result<Self, FaultError> {
        let faults = Self {
            shape,
            caps,
            base,
            flags_path,
            audit,
            annotations,
            load,
            state: Mutex::new(State::default()),
            published: std::sync::Mutex::new(BTreeSet::new()),
            flags: tokio::sync::watch::Sender::new(String::new()),
        };
        metrics::describe_gauge!(
            FAULT_ACTIVE,
            "1 while a fault of this kind is active on this service (service=all: stack-wide), else 0."
        );
        faults.write(&[])?;
        faults.audit.record(&Entry {
            at: now_ms(),
            actor: "system".into(),
            action: "control.start".into(),
            id: None,
            detail: json!({"flags": faults.flags_path.display().to_string(), "cleared": "all"}),
        });
        Ok(faults)
    }

    pub fn annotations(&self) -> &Annotations {
        &self.annotations
    }

    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    pub fn caps(&self) -> Caps {
        self.caps
    }

    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    pub fn flags_path(&self) -> &std::path::Path {
        &self.flags_path
    }

    /// The flag configuration (flagd JSON) as it changes: what the flag sync service streams.
    pub fn flag_updates(&self) -> tokio::sync::watch::Receiver<String> {
        self.flags.subscribe()
    }

    fn write(&self, active: &[ActiveFault]) -> Result<(), FaultError> {
        let set =
            apiary_faults::render_faults(&self.base, &self.shape, active.iter().map(|f| &f.spec))
                .map_err(|e| FaultError::Conflict(e.to_string()))?;
        apiary_faults::write_flag_file(&self.flags_path, &set).map_err(|e| FaultError::Write {
            path: self.flags_path.display().to_string(),
            reason: e.to_string(),
        })?;
        if let Ok(json) = serde_json::to_string(&set) {
            self.flags.send_replace(json);
        }
        self.publish(active);
        Ok(())
    }

    /// Sets [`FAULT_ACTIVE`] to what is on now: 1 for each active pair, 0 for pairs that were on.
    fn publish(&self, active: &[ActiveFault]) {
        let now: BTreeSet<(&'static str, String)> = active
            .iter()
            .flat_map(|f| {
                let services = if f.services.is_empty() {
                    vec!["all".to_owned()]
                } else {
                    f.services.clone()
                };
                services.into_iter().map(move |s| (f.kind, s))
            })
            .collect();
        let mut published = self.published.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, service) in published.difference(&now) {
            metrics::gauge!(FAULT_ACTIVE, "kind" => *kind, "service" => service.clone()).set(0.0);
        }
        for (kind, service) in &now {
            metrics::gauge!(FAULT_ACTIVE, "kind" => *kind, "service" => service.clone()).set(1.0);
        }
        *published = now;
    }

    pub async fn list(&self) -> Vec<ActiveFault> {
        self.state.lock().await.active.clone()
    }

    /// Activates a fault. `drill_run` tags faults a drill set.
    pub async fn activate(
        &self,
        req: FaultRequest,
        actor: &str,
        drill_run: Option<&str>,
    ) -> Result<ActiveFault, FaultError> {
        let max = self.caps.max_ttl_s;
        let ttl = req.ttl_s.ok_or(FaultError::TtlRequired { max })?;
        if ttl == 0 || ttl > max {
            return Err(FaultError::TtlOutOfRange { max, got: ttl });
        }
        req.spec
            .validate(&self.shape, &self.caps)
            .map_err(FaultError::Invalid)?;
        let mut state = self.state.lock().await;
        if state.active.len() >= self.caps.max_active {
            return Err(FaultError::TooMany {
                active: state.active.len(),
                cap: self.caps.max_active,
            });
        }
        let now = now_ms();
        state.next_id += 1;
        let id = format!("f{}-{}", now, state.next_id);
        let mut fault = ActiveFault {
            id: id.clone(),
            kind: req.spec.kind(),
            label: req.spec.to_string(),
            services: req.spec.services(),
            flags: req
                .spec
                .changes(&self.shape)
                .into_iter()
                .map(|c| c.key)
                .collect(),
            spec: req.spec.clone(),
            actor: actor.to_owned(),
            reason: req.reason.clone(),
            started_at: now,
            expires_at: now + ttl * 1000,
            drill_run: drill_run.map(str::to_owned),
            window: 0,
            restore_shape: None,
        };
        if let FaultSpec::TrafficSpike { factor } = &req.spec {
            if state
                .active
                .iter()
                .any(|f| matches!(f.spec, FaultSpec::TrafficSpike { .. }))
            {
                return Err(FaultError::Conflict(
                    "a traffic spike is already active".into(),
                ));
            }
            let load = self.load.as_ref().ok_or(FaultError::NoLoad)?;
            let status = load
                .status()
                .await
                .map_err(|e| FaultError::Load(e.to_string()))?;
            let rate = status["offered_rate"].as_f64().unwrap_or(0.0);
            let shape = status["shape"].as_str().unwrap_or_default().to_owned();
            if rate <= 0.0 {
                return Err(FaultError::Load(
                    "the load generator offers no traffic to multiply".into(),
                ));
            }
            load.post("rate", &json!({"rate": rate * factor}))
                .await
                .map_err(|e| FaultError::Load(e.to_string()))?;
            fault.restore_shape = Some(if shape.is_empty() {
                rate.to_string()
            } else {
                shape
            });
        } else {
            let mut next = state.active.clone();
            next.push(fault.clone());
            self.write(&next)?;
        }
        fault.window = self.annotations.open(FaultWindow {
            kind: "fault".into(),
            name: fault.label.clone(),
            service: fault.services.first().cloned(),
            start: now,
            end: None,
        });
        self.audit.record(&Entry {
            at: now,
            actor: actor.to_owned(),
            action: "fault.set".into(),
            id: Some(id),
            detail: json!({
                "fault": fault.spec,
                "ttl_s": ttl,
                "reason": fault.reason,
                "drill_run": fault.drill_run,
            }),
        });
        tracing::warn!(fault = %fault.label, ttl_s = ttl, actor, "fault on");
        state.active.push(fault.clone());
        Ok(fault)
    }

    /// Clears one fault; `action` says why (`fault.clear`, `fault.expire`).
    pub async fn clear(
        &self,
        id: &str,
        actor: &str,
        action: &str,
    ) -> Result<ActiveFault, FaultError> {
        let mut state = self.state.lock().await;
        let pos = state
            .active
            .iter()
            .position(|f| f.id == id)
            .ok_or_else(|| FaultError::NotFound(id.to_owned()))?;
        let fault = state.active.remove(pos);
        let outcome = self.end(&fault, &state.active).await;
        self.audit.record(&Entry {
            at: now_ms(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            id: Some(fault.id.clone()),
            detail: json!({"fault": fault.spec, "error": outcome.as_ref().err().map(ToString::to_string)}),
        });
        outcome.map(|()| fault)
    }

    /// Undoes a fault that has just left the list.
    async fn end(&self, fault: &ActiveFault, remaining: &[ActiveFault]) -> Result<(), FaultError> {
        self.annotations.close(fault.window, now_ms());
        tracing::info!(fault = %fault.label, "fault off");
        match (&fault.restore_shape, &self.load) {
            (Some(shape), Some(load)) => load
                .post("rate", &json!({"shape": shape}))
                .await
                .map(drop)
                .map_err(|e| FaultError::Load(e.to_string())),
            _ => self.write(remaining),
        }
    }

    /// Clears every fault (or only a drill run's) and returns how many.
    pub async fn reset(&self, actor: &str, drill_run: Option<&str>) -> Result<usize, FaultError> {
        let mut state = self.state.lock().await;
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut state.active)
            .into_iter()
            .partition(|f| drill_run.is_none_or(|r| f.drill_run.as_deref() == Some(r)));
        state.active = kept;
        let mut first_error = None;
        for f in &gone {
            if let Err(e) = self.end(f, &state.active).await {
                first_error.get_or_insert(e);
            }
        }
        if gone.is_empty()
            && let Err(e) = self.write(&state.active)
        {
            first_error.get_or_insert(e);
        }
        self.audit.record(&Entry {
            at: now_ms(),
            actor: actor.to_owned(),
            action: "faults.reset".into(),
            id: drill_run.map(str::to_owned),
            detail: json!({"cleared": gone.iter().map(|f| &f.id).collect::<Vec<_>>()}),
        });
        match first_error {
            Some(e) => Err(e),
            None => Ok(gone.len()),
        }
    }

    /// Clears faults whose time-to-live has passed.
    pub async fn expire(&self) {
        let now = now_ms();
        let due: Vec<String> = self
            .state
            .lock()
            .await
            .active
            .iter()
            .filter(|f| f.expires_at <= now)
            .map(|f| f.id.clone())
            .collect();
        for id in due {
            if let Err(e) = self.clear(&id, "system", "fault.expire").await {
                tracing::error!(fault = %id, error = %e, "expiring a fault failed");
            }
        }
    }

    /// Runs [`Faults::expire`] five times a second, for the life of the process.
    pub async fn run_expiry(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tick.tick().await;
            self.expire().await;
        }
    }
}
