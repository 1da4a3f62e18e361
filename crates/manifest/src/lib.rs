//! The stack manifest, `apiary.toml`: the one place that says which services exist, on which
//! port each listens and which others it calls.
//!
//! # Layout
//! - [`Manifest`] — parsed and validated (unique names and ports, known dependencies, no
//!   cycles); [`Manifest::start_order`] puts dependencies first.
//! - [`Manifest::select`] — a set of services plus everything they depend on, with an error
//!   that lists the valid names.
//! - [`Manifest::service_env`] — the environment a service process gets: its bind address,
//!   its downstreams' URLs and the `OTEL_*` variables. The variable names are constants here
//!   ([`HOST_VAR`], [`PORT_VAR`], [`url_var`]) and are the contract services read.
//!
//! Plain serde types and std only: the launcher, the dashboard and the deployment checks read
//! it; services never do (they are configured by their environment).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod broker;
pub mod kubernetes;
pub mod prometheus;
pub mod slo;
pub use broker::{BROKER_URL_VAR, Broker};
pub use slo::{Slo, SloDefaults, SloOverride};

/// The address a service binds (`127.0.0.1` unless told otherwise).
pub const HOST_VAR: &str = "APIARY_HOST";
/// The port a service binds.
pub const PORT_VAR: &str = "APIARY_PORT";
/// Set by the launcher to its own pid; services then exit when it dies.
pub const SUPERVISOR_PID_VAR: &str = "APIARY_SUPERVISOR_PID";
/// Overrides where tools look for the manifest.
pub const MANIFEST_VAR: &str = "APIARY_MANIFEST";
/// Where durable services keep their files (`<dir>/<service>.sqlite3`).
pub const DATA_DIR_VAR: &str = "APIARY_DATA_DIR";
/// The manifest's file name.
pub const FILE_NAME: &str = "apiary.toml";

/// The variable through which a service learns a downstream's base URL: `catalog` ->
/// `CATALOG_URL`, `order-history` -> `ORDER_HISTORY_URL`.
pub fn url_var(service: &str) -> String {
    format!("{}_URL", service.to_ascii_uppercase().replace('-', "_"))
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub stack: Stack,
    pub telemetry: Telemetry,
    /// The dashboard, started first by `apiary up` when present.
    #[serde(default)]
    pub dashboard: Option<Dashboard>,
    /// Background shopper load, started by `apiary up` once every service is ready.
    #[serde(default)]
    pub load: Option<Load>,
    /// The message broker; absent, the stack runs without asynchronous messaging.
    #[serde(default)]
    pub broker: Option<Broker>,
    /// Fault flags and drills (defaults when absent).
    #[serde(default)]
    pub faults: Faults,
    /// The services' default SLOs (each service may override them).
    #[serde(default)]
    pub slo: SloDefaults,
    pub services: Vec<Service>,
}

/// Where the fault catalogue and the drills live, and the control plane's caps.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Every fault flag at its harmless default (flagd format), relative to the manifest.
    /// `apiary up` copies it into the data directory, where the dashboard writes active faults
    /// and every service watches it.
    pub flags: String,
    /// Drill files (`*.toml`), relative to the manifest.
    pub drills: String,
    /// At most this many faults at once.
    pub max_active: usize,
    /// No fault may touch a larger share of requests.
    pub max_percent: f64,
    /// No fault may live longer (seconds).
    pub max_ttl_s: u64,
    /// Where services read the flags from under `apiary up`: the flag file in the data
    /// directory (`file`, the default) or the dashboard's flag sync service (`dashboard`: the
    /// in-process flagd provider over gRPC, as in compose and Kubernetes through flagd).
    pub source: FlagSource,
}

/// How services under `apiary up` get the fault flags (`[faults] source`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagSource {
    #[default]
    File,
    Dashboard,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            flags: "drills/flags.flagd.json".to_owned(),
            drills: "drills".to_owned(),
            max_active: 8,
            max_percent: 100.0,
            max_ttl_s: 3600,
            source: FlagSource::File,
        }
    }
}

/// The file every service watches for fault flags, inside the data directory. In a directory
/// of its own: the flagd file watcher reacts to every change in the file's directory, and the
/// SQLite files beside it change all the time.
pub const ACTIVE_FLAGS_FILE: &str = "flags/flags.flagd.json";
/// The control token file, inside the data directory (mode 0600).
pub const CONTROL_TOKEN_FILE: &str = "control.token";
/// The token the dashboard's control plane (faults, drills, load) requires.
pub const CONTROL_TOKEN_VAR: &str = "APIARY_CONTROL_TOKEN";

/// A random token from the OS (32 hex characters): the control token, the dashboard's token.
pub fn random_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes the control token to `<data_dir>/control.token`, readable by its owner only.
pub fn write_control_token(data_dir: &Path, token: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join(CONTROL_TOKEN_FILE);
    let _ = std::fs::remove_file(&path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    f.write_all(token.as_bytes())
}

/// The control token: `APIARY_CONTROL_TOKEN` when set, else `<data_dir>/control.token`.
pub fn read_control_token(data_dir: &Path) -> Option<String> {
    std::env::var(CONTROL_TOKEN_VAR)
        .ok()
        .filter(|t| !t.is_empty())
        .or_else(|| {
            std::fs::read_to_string(data_dir.join(CONTROL_TOKEN_FILE))
                .ok()
                .map(|t| t.trim().to_owned())
        })
        .filter(|t| !t.is_empty())
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// UI and API.
    pub port: u16,
    pub otlp_grpc_port: u16,
    pub otlp_http_port: u16,
    /// The executable's file name; defaults to `dashboard`.
    #[serde(default)]
    pub binary: Option<String>,
    /// An external collector's OTLP/HTTP base URL (`http://127.0.0.1:4319`): the dashboard
    /// sends every export it accepts there too, so the stack feeds both at once.
    #[serde(default)]
    pub forward_otlp: Option<String>,
}

/// The dashboard's forwarding target.
pub const FORWARD_OTLP_VAR: &str = "DASHBOARD_FORWARD_OTLP";

impl Dashboard {
    pub fn binary_name(&self) -> &str {
        self.binary.as_deref().unwrap_or("dashboard")
    }

    pub fn ports(&self) -> [u16; 3] {
        [self.port, self.otlp_grpc_port, self.otlp_http_port]
    }
}

/// The load generator as `apiary up` runs it: gentle, endless, against the gateway.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// Journeys started per second (0 disables it).
    pub rate: f64,
    /// Its control API's port (loopback).
    pub control_port: u16,
    /// The service it targets; defaults to `gateway`.
    #[serde(default)]
    pub target: Option<String>,
    /// A profile file, relative to the manifest's directory; defaults to the built-in one.
    #[serde(default)]
    pub profile: Option<String>,
    /// The executable's file name; defaults to `apiary-load`.
    #[serde(default)]
    pub binary: Option<String>,
}

impl Load {
    pub fn binary_name(&self) -> &str {
        self.binary.as_deref().unwrap_or("apiary-load")
    }

    pub fn target_service(&self) -> &str {
        self.target.as_deref().unwrap_or("gateway")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    pub host: String,
    pub namespace: String,
    pub environment: String,
    /// Durable services' data directory, relative to the manifest's directory
    /// (default `.apiary/data`).
    #[serde(default)]
    pub data_dir: Option<String>,
    /// Where each service is reached: all at `host` (`apiary up`, the default), or each at
    /// its own name (`"dns"`: compose and Kubernetes, where a service's name resolves to its
    /// instances).
    #[serde(default)]
    pub addresses: Addresses,
}

/// Overrides `[stack] addresses` for the dashboard (`host` or `dns`): compose and Kubernetes
/// mount the repository's manifest unchanged and set it to `dns`.
pub const ADDRESSES_VAR: &str = "APIARY_ADDRESSES";

/// How callers and scrapers find a service (`[stack] addresses`, or [`ADDRESSES_VAR`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Addresses {
    /// Every service on `[stack] host`, at its port.
    #[default]
    Host,
    /// Every service at its own name (`http://catalog:8001`).
    Dns,
}

impl std::str::FromStr for Addresses {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "host" => Ok(Self::Host),
            "dns" => Ok(Self::Dns),
            other => Err(format!("'{other}' is not host or dns")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    pub otlp_endpoint: String,
    pub otlp_protocol: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    pub port: u16,
    #[serde(default)]
    pub description: String,
    /// The executable's file name; defaults to the service name.
    #[serde(default)]
    pub binary: Option<String>,
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// `sqlite` or `memory` when the service keeps data (decides which store faults apply).
    #[serde(default)]
    pub store: Option<Store>,
    /// Events it publishes on the broker (`order.placed`), through its outbox.
    #[serde(default)]
    pub publishes: Vec<String>,
    /// Events it consumes from the broker, each on its own queue.
    #[serde(default)]
    pub consumes: Vec<String>,
    /// Its own SLOs where they differ from `[slo]`.
    #[serde(default)]
    pub slo: Option<SloOverride>,
    /// How many instances `apiary up` runs (default 1; more only for a service that keeps no
    /// state, see [`Service::scaling_refusal`]). Instance `n` listens on
    /// `port + (n - 1) * INSTANCE_PORT_STRIDE`.
    #[serde(default)]
    pub replicas: Option<usize>,
}

/// Most instances of one service on one machine.
pub const MAX_REPLICAS: usize = 8;
/// Instance `n` (1-based) of a service listens this many ports above instance `n - 1`.
pub const INSTANCE_PORT_STRIDE: u16 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Store {
    Sqlite,
    Memory,
}

impl Service {
    /// Whether it talks to the message broker (publishes or consumes an event).
    pub fn uses_broker(&self) -> bool {
        !self.publishes.is_empty() || !self.consumes.is_empty()
    }

    pub fn binary_name(&self) -> &str {
        self.binary.as_deref().unwrap_or(&self.name)
    }

    /// Instances `apiary up` starts (the manifest's `replicas`, default 1).
    pub fn replicas(&self) -> usize {
        self.replicas.unwrap_or(1)
    }

    /// The port of instance `n` (1-based), if it is a port.
    pub fn instance_port(&self, n: usize) -> Option<u16> {
        let step = u16::try_from(n.checked_sub(1)?).ok()?;
        self.port
            .checked_add(step.checked_mul(INSTANCE_PORT_STRIDE)?)
    }

    /// Why the service cannot run `replicas` instances, if it cannot: one that keeps state (a
    /// store of its own, or a queue whose messages would be split between instances) runs
    /// one, because its instances would not share what they keep — the same rule as the
    /// Kubernetes base (a one-pod StatefulSet).
    pub fn scaling_refusal(&self, replicas: usize) -> Option<String> {
        if replicas == 0 || replicas > MAX_REPLICAS {
            return Some(format!(
                "{} replicas of '{}': between 1 and {MAX_REPLICAS} on one machine",
                replicas, self.name
            ));
        }
        if replicas == 1 {
            return None;
        }
        let keeps = match self.store {
            Some(Store::Sqlite) => Some("its data in one SQLite file"),
            Some(Store::Memory) => Some("its data in memory (instances would not share it)"),
            None if self.uses_broker() => Some("a queue's messages (instances would split them)"),
            None => None,
        };
        keeps.map(|what| {
            format!(
                "'{}' keeps {what}, so it runs one instance; services that keep no state can be scaled",
                self.name
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error("unknown service '{name}'; valid services: {}", valid.join(", "))]
    UnknownService { name: String, valid: Vec<String> },
    #[error(
        "no {FILE_NAME} found in {start} or any parent directory (set {MANIFEST_VAR} to its path)"
    )]
    NotFound { start: PathBuf },
}

/// Why the manifest's fault flag file was refused.
#[derive(Debug, thiserror::Error)]
pub enum FlagFileError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a flagd flag file: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: variant labels must say their values:\n  {}", path.display(), mislabelled.join("\n  "))]
    Mislabelled {
        path: PathBuf,
        mislabelled: Vec<String>,
    },
}

impl Manifest {
    /// Parses and validates manifest text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Self, ManifestError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| ManifestError::Parse {
            path: origin.to_owned(),
            reason: e.to_string(),
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// What the fault catalogue needs: every service, whom it calls, where it keeps data.
    pub fn fault_shape(&self) -> apiary_faults::Shape {
        apiary_faults::Shape {
            services: self
                .services
                .iter()
                .map(|s| {
                    let shape = apiary_faults::ServiceShape {
                        depends_on: s.depends_on.clone(),
                        store: s.store.map(|k| match k {
                            Store::Sqlite => apiary_faults::StoreKind::Sqlite,
                            Store::Memory => apiary_faults::StoreKind::Memory,
                        }),
                        publishes: !s.publishes.is_empty(),
                        consumes: !s.consumes.is_empty(),
                    };
                    (s.name.clone(), shape)
                })
                .collect(),
        }
    }

    /// The fault flags at their defaults: the `[faults] flags` file when it exists (refused,
    /// naming each variant, if a label does not say its value), else generated from the
    /// manifest. The launcher and the dashboard both start from this.
    pub fn base_flags(
        &self,
        manifest_path: &Path,
    ) -> Result<apiary_faults::FlagSet, FlagFileError> {
        let path = self.resolve(manifest_path, &self.faults.flags);
        if !path.is_file() {
            return Ok(apiary_faults::base_flags(&self.fault_shape()));
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(source) => return Err(FlagFileError::Read { path, source }),
        };
        let set: apiary_faults::FlagSet = match serde_json::from_str(&text) {
            Ok(set) => set,
            Err(source) => return Err(FlagFileError::Parse { path, source }),
        };
        let mislabelled = apiary_faults::label_mismatches(&set);
        if !mislabelled.is_empty() {
            return Err(FlagFileError::Mislabelled { path, mislabelled });
        }
        Ok(set)
    }

    /// The control plane's caps.
    pub fn fault_caps(&self) -> apiary_faults::Caps {
        apiary_faults::Caps {
            max_active: self.faults.max_active,
            max_percent: self.faults.max_percent,
            max_ttl_s: self.faults.max_ttl_s,
            ..apiary_faults::Caps::default()
        }
    }

    /// A path the manifest gives (relative to its own directory).
    pub fn resolve(&self, manifest_path: &Path, relative: &str) -> PathBuf {
        let p = Path::new(relative);
        if p.is_absolute() {
            p.to_owned()
        } else {
            manifest_path
                .parent()
                .map_or_else(|| p.to_owned(), |parent| parent.join(p))
        }
    }

    /// The data directory: `stack.data_dir` (default `.apiary/data`) resolved against the
    /// directory of the manifest at `manifest_path`.
    pub fn data_dir(&self, manifest_path: &Path) -> PathBuf {
        let dir = Path::new(self.stack.data_dir.as_deref().unwrap_or(".apiary/data"));
        if dir.is_absolute() {
            dir.to_owned()
        } else {
            manifest_path
                .parent()
                .map_or_else(|| dir.to_owned(), |parent| parent.join(dir))
        }
    }

    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// `$APIARY_MANIFEST` if set, else the nearest `apiary.toml` at or above `start`.
    pub fn locate(start: &Path) -> Result<PathBuf, ManifestError> {
        if let Some(path) = std::env::var_os(MANIFEST_VAR).filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(path));
        }
        start
            .ancestors()
            .map(|dir| dir.join(FILE_NAME))
            .find(|candidate| candidate.is_file())
            .ok_or_else(|| ManifestError::NotFound {
                start: start.to_owned(),
            })
    }

    /// `service`'s objectives: its own where it sets them, else `[slo]`'s.
    pub fn slo(&self, service: &Service) -> Slo {
        Slo::resolve(&self.slo, service.slo.as_ref())
    }

    fn validate(&self) -> Result<(), ManifestError> {
        let invalid = |msg: String| Err(ManifestError::Invalid(msg));
        if self.services.is_empty() {
            return invalid("the manifest lists no services".into());
        }
        if let Some(url) = self
            .dashboard
            .as_ref()
            .and_then(|d| d.forward_otlp.as_ref())
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid(format!(
                "[dashboard] forward_otlp must be an OTLP/HTTP base URL, e.g. http://127.0.0.1:4319 (got '{url}')"
            ));
        }
        if let Some(problem) = Slo::resolve(&self.slo, None).problem() {
            return invalid(format!("[slo]: {problem}"));
        }
        for s in &self.services {
            if let Some(problem) = self.slo(s).problem() {
                return invalid(format!("service '{}': {problem}", s.name));
            }
        }
        let mut names = BTreeSet::new();
        let mut ports = BTreeMap::new();
        for s in &self.services {
            let well_formed = s.name.starts_with(|c: char| c.is_ascii_lowercase())
                && s.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !well_formed {
                return invalid(format!(
                    "service name '{}' must be lowercase letters, digits and '-', starting with a letter",
                    s.name
                ));
            }
            if !names.insert(s.name.as_str()) {
                return invalid(format!("service '{}' is listed twice", s.name));
            }
            if s.port == 0 {
                return invalid(format!(
                    "service '{}' has port 0; give it a fixed port",
                    s.name
                ));
            }
            if let Some(other) = ports.insert(s.port, s.name.as_str()) {
                return invalid(format!(
                    "services '{other}' and '{}' both use port {}",
                    s.name, s.port
                ));
            }
        }
        for s in &self.services {
            if let Some(why) = s.scaling_refusal(s.replicas()) {
                return invalid(why);
            }
            for n in 2..=s.replicas() {
                let Some(port) = s.instance_port(n) else {
                    return invalid(format!(
                        "instance {n} of '{}' has no port above {}",
                        s.name, s.port
                    ));
                };
                if let Some(other) = ports.insert(port, s.name.as_str()) {
                    return invalid(format!(
                        "instance {n} of '{}' would listen on port {port}, which '{other}' uses",
                        s.name
                    ));
                }
            }
        }
        if let Some(d) = &self.dashboard {
            for (i, port) in d.ports().into_iter().enumerate() {
                if port == 0 {
                    return invalid("the dashboard's ports must not be 0".into());
                }
                if let Some(other) = ports.insert(port, "dashboard") {
                    return invalid(format!("the dashboard and '{other}' both use port {port}"));
                }
                if d.ports()[..i].contains(&port) {
                    return invalid(format!("the dashboard uses port {port} twice"));
                }
            }
        }
        if let Some(load) = &self.load {
            if !(load.rate.is_finite() && (0.0..=10_000.0).contains(&load.rate)) {
                return invalid(format!(
                    "load.rate {} must be between 0 and 10000 journeys a second",
                    load.rate
                ));
            }
            if load.control_port == 0 {
                return invalid("load.control_port must not be 0".into());
            }
            if let Some(other) = ports.insert(load.control_port, "load") {
                return invalid(format!(
                    "the load generator and '{other}' both use port {}",
                    load.control_port
                ));
            }
            if !names.contains(load.target_service()) {
                return invalid(format!(
                    "load.target '{}' is not a service of this manifest",
                    load.target_service()
                ));
            }
        }
        if let Some(broker) = &self.broker {
            match &broker.url {
                Some(url) if !url.starts_with("amqp://") => {
                    return invalid("broker.url must be an amqp:// URL".into());
                }
                Some(_) => {}
                None => {
                    for (i, port) in broker.ports().into_iter().enumerate() {
                        if port == 0 {
                            return invalid("the broker's ports must not be 0".into());
                        }
                        if broker.ports()[..i].contains(&port) {
                            return invalid(format!("the broker uses port {port} twice"));
                        }
                        if let Some(other) = ports.insert(port, "broker") {
                            return invalid(format!(
                                "the broker and '{other}' both use port {port}"
                            ));
                        }
                    }
                }
            }
        }
        for s in &self.services {
            for dep in &s.depends_on {
                if dep == &s.name {
                    return invalid(format!("service '{}' depends on itself", s.name));
                }
                if !names.contains(dep.as_str()) {
                    return invalid(format!(
                        "service '{}' depends on unknown service '{dep}'",
                        s.name
                    ));
                }
            }
        }
        let f = &self.faults;
        if f.max_active == 0 || !(f.max_percent > 0.0 && f.max_percent <= 100.0) || f.max_ttl_s == 0
        {
            return invalid(
                "faults: max_active and max_ttl_s must be positive, max_percent in (0, 100]".into(),
            );
        }
        if !["grpc", "http/protobuf", "http/json"].contains(&self.telemetry.otlp_protocol.as_str())
        {
            return invalid(format!(
                "telemetry.otlp_protocol '{}' must be grpc, http/protobuf or http/json",
                self.telemetry.otlp_protocol
            ));
        }
        self.topological(&self.services.iter().map(|s| s.name.as_str()).collect())
            .map(|_| ())
    }

    pub fn names(&self) -> Vec<String> {
        self.services.iter().map(|s| s.name.clone()).collect()
    }

    pub fn service(&self, name: &str) -> Result<&Service, ManifestError> {
        self.services
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| ManifestError::UnknownService {
                name: name.to_owned(),
                valid: self.names(),
            })
    }

    /// Every service, dependencies before their dependents.
    pub fn start_order(&self) -> Vec<&Service> {
        let all = self.services.iter().map(|s| s.name.as_str()).collect();
        // Validated at construction, so there is no cycle.
        self.topological(&all).unwrap_or_default()
    }

    /// The named services plus everything they depend on, dependencies first. An empty
    /// selection means every service.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Service>, ManifestError> {
        if names.is_empty() {
            return Ok(self.start_order());
        }
        let mut wanted = BTreeSet::new();
        let mut stack: Vec<&str> = Vec::new();
        for name in names {
            stack.push(self.service(name)?.name.as_str());
        }
        while let Some(name) = stack.pop() {
            if wanted.insert(name) {
                stack.extend(self.service(name)?.depends_on.iter().map(String::as_str));
            }
        }
        self.topological(&wanted)
    }

    /// Kahn's algorithm over `subset`, in manifest order among equals (stable output).
    fn topological<'a>(
        &'a self,
        subset: &BTreeSet<&str>,
    ) -> Result<Vec<&'a Service>, ManifestError> {
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut order = Vec::new();
        while order.len() < subset.len() {
            let next = self.services.iter().find(|s| {
                subset.contains(s.name.as_str())
                    && !done.contains(s.name.as_str())
                    && s.depends_on.iter().all(|d| done.contains(d.as_str()))
            });
            match next {
                Some(s) => {
                    done.insert(s.name.as_str());
                    order.push(s);
                }
                None => {
                    let stuck: Vec<&str> = subset
                        .iter()
                        .copied()
                        .filter(|n| !done.contains(n))
                        .collect();
                    return Err(ManifestError::Invalid(format!(
                        "dependency cycle among: {}",
                        stuck.join(", ")
                    )));
                }
            }
        }
        Ok(order)
    }

    /// Every port the manifest gives something other than a service's extra instances: the
    /// services' own ports, the dashboard's, the load generator's and a private broker's.
    pub fn fixed_ports(&self) -> BTreeMap<u16, String> {
        let mut ports: BTreeMap<u16, String> = self
            .services
            .iter()
            .map(|s| (s.port, s.name.clone()))
            .collect();
        for port in self.dashboard.iter().flat_map(Dashboard::ports) {
            ports.insert(port, "dashboard".into());
        }
        if let Some(load) = &self.load {
            ports.insert(load.control_port, "load".into());
        }
        for port in self
            .broker
            .iter()
            .filter(|b| b.url.is_none())
            .flat_map(|b| b.ports())
        {
            ports.insert(port, "broker".into());
        }
        ports
    }

    /// The base URL of a service as its callers reach it.
    pub fn url(&self, service: &Service) -> String {
        match self.stack.addresses {
            Addresses::Host => format!("http://{}:{}", self.stack.host, service.port),
            Addresses::Dns => format!("http://{}:{}", service.name, service.port),
        }
    }

    /// The environment the dashboard process gets: its ports and where the manifest is (it
    /// watches every service listed there). It never exports telemetry to itself.
    pub fn dashboard_env(
        &self,
        dashboard: &Dashboard,
        manifest_path: &Path,
    ) -> Vec<(String, String)> {
        vec![
            (HOST_VAR.to_owned(), self.stack.host.clone()),
            (PORT_VAR.to_owned(), dashboard.port.to_string()),
            (
                "DASHBOARD_OTLP_GRPC_PORT".to_owned(),
                dashboard.otlp_grpc_port.to_string(),
            ),
            (
                "DASHBOARD_OTLP_HTTP_PORT".to_owned(),
                dashboard.otlp_http_port.to_string(),
            ),
            (MANIFEST_VAR.to_owned(), manifest_path.display().to_string()),
        ]
        .into_iter()
        .chain(
            dashboard
                .forward_otlp
                .iter()
                .map(|url| (FORWARD_OTLP_VAR.to_owned(), url.clone())),
        )
        .collect()
    }

    /// The environment the load generator gets (telemetry like a service's).
    pub fn load_env(&self) -> Vec<(String, String)> {
        vec![
            ("OTEL_SERVICE_NAME".to_owned(), "load".to_owned()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
                self.telemetry.otlp_endpoint.clone(),
            ),
            (
                "OTEL_EXPORTER_OTLP_PROTOCOL".to_owned(),
                self.telemetry.otlp_protocol.clone(),
            ),
            (
                "OTEL_RESOURCE_ATTRIBUTES".to_owned(),
                format!(
                    "service.namespace={},deployment.environment.name={}",
                    self.stack.namespace, self.stack.environment
                ),
            ),
        ]
    }

    /// The environment a service process gets from the launcher.
    pub fn service_env(&self, service: &Service) -> Vec<(String, String)> {
        let mut env = vec![
            (HOST_VAR.to_owned(), self.stack.host.clone()),
            (PORT_VAR.to_owned(), service.port.to_string()),
            ("OTEL_SERVICE_NAME".to_owned(), service.name.clone()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
                self.telemetry.otlp_endpoint.clone(),
            ),
            (
                "OTEL_EXPORTER_OTLP_PROTOCOL".to_owned(),
                self.telemetry.otlp_protocol.clone(),
            ),
            (
                "OTEL_RESOURCE_ATTRIBUTES".to_owned(),
                format!(
                    "service.namespace={},deployment.environment.name={}",
                    self.stack.namespace, self.stack.environment
                ),
            ),
        ];
        for dep in &service.depends_on {
            if let Ok(target) = self.service(dep) {
                env.push((url_var(dep), self.url(target)));
            }
        }
        env
    }

    /// The variables that point a service's flagd provider at the flag file it watches.
    /// The flagd provider's variables for a service reading the flags from the dashboard's
    /// flag sync service (its OTLP gRPC port serves it).
    pub fn flag_sync_env(&self, dashboard: &Dashboard) -> Vec<(String, String)> {
        vec![
            ("FLAGD_RESOLVER".to_owned(), "in-process".to_owned()),
            ("FLAGD_HOST".to_owned(), self.stack.host.clone()),
            (
                "FLAGD_PORT".to_owned(),
                dashboard.otlp_grpc_port.to_string(),
            ),
        ]
    }

    pub fn flag_env(data_dir: &Path) -> Vec<(String, String)> {
        vec![
            ("FLAGD_RESOLVER".to_owned(), "file".to_owned()),
            (
                "FLAGD_OFFLINE_FLAG_SOURCE_PATH".to_owned(),
                data_dir.join(ACTIVE_FLAGS_FILE).display().to_string(),
            ),
        ]
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (:{})", self.name, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
        [stack]
        host = "127.0.0.1"
        namespace = "apiary"
        environment = "local"
        [telemetry]
        otlp_endpoint = "http://127.0.0.1:4317"
        otlp_protocol = "grpc"
        [[services]]
        name = "gateway"
        port = 8000
        depends_on = ["checkout", "catalog"]
        [[services]]
        name = "checkout"
        port = 8003
        depends_on = ["catalog"]
        [[services]]
        name = "catalog"
        port = 8001
    "#;

    fn small() -> Manifest {
        Manifest::parse(SMALL, Path::new("test.toml")).expect("valid manifest")
    }

    fn with(replace: &str, by: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(&SMALL.replace(replace, by), Path::new("test.toml"))
    }

    #[test]
    fn replicas_are_for_stateless_services_and_take_ports_a_stride_apart() {
        let ok = with(
            "name = \"catalog\"\n        port = 8001",
            "name = \"catalog\"\n        port = 8001\n        replicas = 3",
        )
        .expect("catalog keeps no state");
        let catalog = ok.service("catalog").expect("catalog");
        assert_eq!(catalog.replicas(), 3);
        assert_eq!(catalog.instance_port(1), Some(8001));
        assert_eq!(catalog.instance_port(3), Some(8201));
        assert_eq!(catalog.instance_port(0), None);
        assert_eq!(ok.service("gateway").expect("gateway").replicas(), 1);
        assert!(ok.fixed_ports().contains_key(&8003));

        let stateful = with(
            "name = \"checkout\"\n        port = 8003",
            "name = \"checkout\"\n        port = 8003\n        store = \"sqlite\"\n        replicas = 2",
        )
        .expect_err("one SQLite file");
        assert!(
            stateful.to_string().contains("runs one instance"),
            "{stateful}"
        );
        let too_many = with(
            "name = \"catalog\"\n        port = 8001",
            "name = \"catalog\"\n        port = 8001\n        replicas = 9",
        )
        .expect_err("too many");
        assert!(
            too_many.to_string().contains("between 1 and 8"),
            "{too_many}"
        );
        // Instance 2 of gateway would sit on catalog's port.
        let clash = with(
            "name = \"gateway\"\n        port = 8000",
            "name = \"gateway\"\n        port = 7901\n        replicas = 2",
        )
        .expect_err("port clash");
        assert!(
            clash.to_string().contains("which 'catalog' uses"),
            "{clash}"
        );
    }

    #[test]
    fn a_load_section_is_checked() {
        let with =
            |load: &str| Manifest::parse(&format!("{SMALL}\n[load]\n{load}\n"), Path::new("x"));
        let ok = with("rate = 5\ncontrol_port = 8089").expect("valid");
        let load = ok.load.expect("load");
        assert_eq!(load.target_service(), "gateway");
        assert_eq!(load.binary_name(), "apiary-load");
        for bad in [
            "rate = -1\ncontrol_port = 8089",
            "rate = 5\ncontrol_port = 0",
            "rate = 5\ncontrol_port = 8000",
            "rate = 5\ncontrol_port = 8089\ntarget = \"nowhere\"",
        ] {
            assert!(with(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_data_dir_is_relative_to_the_manifest() {
        let m = Manifest::parse(SMALL, Path::new("x")).expect("valid");
        assert_eq!(
            m.data_dir(Path::new("/srv/apiary/apiary.toml")),
            Path::new("/srv/apiary/.apiary/data")
        );
        let mut abs = m.clone();
        abs.stack.data_dir = Some("/var/lib/apiary".to_owned());
        assert_eq!(
            abs.data_dir(Path::new("/srv/apiary/apiary.toml")),
            Path::new("/var/lib/apiary")
        );
    }

    #[test]
    fn start_order_puts_dependencies_first() {
        let m = small();
        let order: Vec<&str> = m.start_order().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(order, ["catalog", "checkout", "gateway"]);
    }

    #[test]
    fn selecting_a_service_brings_its_dependencies() {
        let m = small();
        let sel: Vec<&str> = m
            .select(&["checkout".to_owned()])
            .expect("known")
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(sel, ["catalog", "checkout"]);
    }

    #[test]
    fn an_unknown_service_lists_the_valid_names() {
        let err = small()
            .select(&["payments".to_owned()])
            .expect_err("unknown");
        let msg = err.to_string();
        assert!(
            msg.contains("'payments'") && msg.contains("gateway, checkout, catalog"),
            "{msg}"
        );
    }

    #[test]
    fn invalid_manifests_are_refused_with_a_reason() {
        let cases = [
            ("port = 8003", "port = 8001"),
            (
                "depends_on = [\"catalog\"]\n",
                "depends_on = [\"gateway\"]\n",
            ),
            ("name = \"checkout\"", "name = \"Checkout\""),
            ("\"checkout\", \"catalog\"", "\"checkout\", \"shipping\""),
            ("otlp_protocol = \"grpc\"", "otlp_protocol = \"udp\""),
            ("port = 8000", "port = 0"),
            ("port = 8000", "port = 8000\ncolour = \"red\""),
        ];
        for (from, to) in cases {
            assert!(with(from, to).is_err(), "accepted {to}");
        }
        let cycle = with(
            "depends_on = [\"catalog\"]\n",
            "depends_on = [\"gateway\"]\n",
        )
        .expect_err("cycle");
        assert!(cycle.to_string().contains("cycle"), "{cycle}");
    }

    #[test]
    fn with_dns_addresses_each_service_is_at_its_own_name() {
        let mut m = small();
        let catalog = m.service("catalog").expect("catalog").clone();
        assert_eq!(m.url(&catalog), "http://127.0.0.1:8001");
        m.stack.addresses = "dns".parse().expect("dns");
        assert_eq!(m.url(&catalog), "http://catalog:8001");
        assert!("consul".parse::<Addresses>().is_err());
        let text = "[stack]\nhost = \"127.0.0.1\"\nnamespace = \"a\"\nenvironment = \"e\"\naddresses = \"dns\"\n";
        let stack: Stack = toml::from_str(text.trim_start_matches("[stack]\n")).expect("stack");
        assert_eq!(stack.addresses, Addresses::Dns);
    }

    #[test]
    fn a_service_gets_its_address_downstream_urls_and_otel_settings() {
        let m = small();
        let env: BTreeMap<String, String> = m
            .service_env(m.service("gateway").expect("gateway"))
            .into_iter()
            .collect();
        assert_eq!(env["APIARY_PORT"], "8000");
        assert_eq!(env["APIARY_HOST"], "127.0.0.1");
        assert_eq!(env["CATALOG_URL"], "http://127.0.0.1:8001");
        assert_eq!(env["CHECKOUT_URL"], "http://127.0.0.1:8003");
        assert_eq!(env["OTEL_SERVICE_NAME"], "gateway");
        assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://127.0.0.1:4317");
        assert!(env["OTEL_RESOURCE_ATTRIBUTES"].contains("service.namespace=apiary"));
    }

    #[test]
    fn the_dashboard_section_is_optional_and_its_ports_must_be_free() {
        assert!(small().dashboard.is_none());
        let with_dashboard = SMALL.replace("[[services]]\n        name = \"gateway\"", "[dashboard]\n        port = 8080\n        otlp_grpc_port = 4317\n        otlp_http_port = 4318\n        [[services]]\n        name = \"gateway\"");
        let m = Manifest::parse(&with_dashboard, Path::new("t.toml")).expect("valid");
        let d = m.dashboard.as_ref().expect("dashboard");
        assert_eq!(d.binary_name(), "dashboard");
        let env: BTreeMap<String, String> = m
            .dashboard_env(d, Path::new("/x/apiary.toml"))
            .into_iter()
            .collect();
        assert_eq!(env["APIARY_PORT"], "8080");
        assert_eq!(env["APIARY_MANIFEST"], "/x/apiary.toml");
        let clash = with_dashboard.replace("port = 8080", "port = 8001");
        assert!(Manifest::parse(&clash, Path::new("t.toml")).is_err());
    }

    #[test]
    fn url_vars_are_shouted_snake_case() {
        assert_eq!(url_var("catalog"), "CATALOG_URL");
        assert_eq!(url_var("order-history"), "ORDER_HISTORY_URL");
    }
}
