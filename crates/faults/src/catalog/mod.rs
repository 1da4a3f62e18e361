//! The fault catalogue: which flags exist for which service ([`base_flags`]), what a fault
//! request means ([`FaultSpec`]), and how a set of active faults becomes a flag file
//! ([`render`]). Pure data — the dashboard's control plane, the launcher and the tests share it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::flagd::{Flag, FlagSet, SCHEMA, Unit, canonical_label};

/// Flag names after `{service}.`; each knob is read by the part of the service it names.
pub mod knob {
    /// The service reads its other knobs only while this is on (one cheap evaluation per
    /// request when nothing is wrong). [`super::render`] turns it on for every service whose
    /// flags it changes; hand-edited flag files must do the same.
    pub const ARMED: &str = "armed";
    /// Share of requests answered 500 (the fault layer; targeting may scope it to a route,
    /// a path or a deployed version).
    pub const ERROR_RATE: &str = "error-rate";
    /// The status those answers carry: 500 (a bug) unless set to 502, 503 (overloaded or
    /// restarting, with `Retry-After`) or 504 — what callers may retry.
    pub const ERROR_STATUS: &str = "error-status";
    /// Added latency (the fault layer): fixed part, jitter (uniform 0..jitter), share.
    pub const LATENCY_MS: &str = "latency-ms";
    pub const LATENCY_JITTER_MS: &str = "latency-jitter-ms";
    pub const LATENCY_PERCENT: &str = "latency-percent";
    /// Share of requests never answered (the caller's timeout ends them).
    pub const HANG: &str = "hang-percent";
    /// CPU spun on the request's own thread, per request.
    pub const CPU_BURN: &str = "cpu-burn-ms";
    /// Memory held (and touched) by the process, grown 34 MiB a second up to this; freed when off.
    pub const MEMORY_LEAK: &str = "memory-leak-mib";
    /// `/health/ready` answers 503.
    pub const READINESS: &str = "readiness-failing";
    /// Share of requests that end the process (the launcher restarts it).
    pub const CRASH: &str = "crash-percent";
    /// Delay before every data store operation.
    pub const STORE_DELAY: &str = "store-delay-ms";
    /// The in-memory store is wiped every second (cart).
    pub const STORE_LOST: &str = "store-lost";
    /// Share of charges failing at the card issuer, targeted by `card_bin` (payment).
    pub const CARD_FAILURE: &str = "card-failure-percent";
    /// The version the service behaves as (`current` = its build).
    pub const VERSION: &str = "version";
    /// Extra immediate retries of every failed call (a misconfigured client), by `peer`.
    pub const RETRY_STORM: &str = "retry-storm";
}

/// The value of `{service}.version` when no bad version is deployed.
pub const CURRENT_VERSION: &str = "current";

/// How a caller reaches a peer (`{caller}.to.{peer}`).
pub mod link {
    pub const OK: &str = "ok";
    /// Connection refused at once.
    pub const UNREACHABLE: &str = "unreachable";
    /// Packets dropped: the call hangs until the caller's timeout.
    pub const PARTITIONED: &str = "partitioned";
}

pub fn flag_key(service: &str, knob: &str) -> String {
    format!("{service}.{knob}")
}

pub fn link_key(caller: &str, peer: &str) -> String {
    format!("{caller}.to.{peer}")
}

/// Where a service keeps its data (decides which store faults apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Sqlite,
    Memory,
}

/// What the catalogue needs to know about a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceShape {
    pub depends_on: Vec<String>,
    pub store: Option<StoreKind>,
}

/// The stack the faults apply to (from the manifest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    pub services: BTreeMap<String, ServiceShape>,
}

impl Shape {
    fn has(&self, service: &str) -> bool {
        self.services.contains_key(service)
    }

    fn calls(&self, caller: &str, peer: &str) -> bool {
        self.services
            .get(caller)
            .is_some_and(|s| s.depends_on.iter().any(|d| d == peer))
    }

    fn store(&self, service: &str) -> Option<StoreKind> {
        self.services.get(service).and_then(|s| s.store)
    }
}

/// The services that have special-purpose knobs.
pub const CART: &str = "cart";
pub const PAYMENT: &str = "payment";
pub const CATALOG: &str = "catalog";

fn numeric(unit: Unit, description: &str, presets: &[f64]) -> Flag {
    let mut variants = BTreeMap::new();
    for v in std::iter::once(&0.0).chain(presets) {
        let value = json!(v);
        if let Some(label) = canonical_label(unit, &value) {
            variants.insert(label, value);
        }
    }
    flag(unit, description, variants, "off")
}

fn flag(unit: Unit, description: &str, variants: BTreeMap<String, Value>, default: &str) -> Flag {
    Flag {
        state: "ENABLED".to_owned(),
        variants,
        default_variant: default.to_owned(),
        targeting: None,
        metadata: BTreeMap::from([
            ("unit".to_owned(), json!(unit.as_str())),
            ("description".to_owned(), json!(description)),
        ]),
    }
}

fn texts(unit: Unit, description: &str, values: &[&str], default: &str) -> Flag {
    let variants = values.iter().map(|v| ((*v).to_owned(), json!(v))).collect();
    flag(unit, description, variants, default)
}

fn switch(description: &str) -> Flag {
    let variants = BTreeMap::from([
        ("off".to_owned(), json!(false)),
        ("on".to_owned(), json!(true)),
    ]);
    flag(Unit::Switch, description, variants, "off")
}

/// Every flag of the stack, each at its harmless default. The shipped
/// `drills/flags.flagd.json` is this for `apiary.toml` (a test keeps them equal).
pub fn base_flags(shape: &Shape) -> FlagSet {
    let mut flags = BTreeMap::new();
    for (name, svc) in &shape.services {
        let mut add = |knob: &str, f: Flag| {
            flags.insert(flag_key(name, knob), f);
        };
        add(
            knob::ARMED,
            switch("read this service's other fault flags (on while any of them is set)"),
        );
        add(
            knob::ERROR_RATE,
            numeric(
                Unit::Percent,
                "share of requests answered 500",
                &[5.0, 10.0, 25.0, 50.0, 100.0],
            ),
        );
        add(
            knob::ERROR_STATUS,
            numeric(
                Unit::Status,
                "the status of injected errors (500 when off)",
                &[502.0, 503.0, 504.0],
            ),
        );
        add(
            knob::LATENCY_MS,
            numeric(
                Unit::Millis,
                "added latency, fixed part",
                &[100.0, 250.0, 500.0, 1000.0, 2000.0],
            ),
        );
        add(
            knob::LATENCY_JITTER_MS,
            numeric(
                Unit::Millis,
                "added latency, uniform jitter on top",
                &[50.0, 100.0, 250.0],
            ),
        );
        add(
            knob::LATENCY_PERCENT,
            numeric(
                Unit::Percent,
                "share of requests delayed",
                &[10.0, 50.0, 100.0],
            ),
        );
        add(
            knob::HANG,
            numeric(
                Unit::Percent,
                "share of requests never answered",
                &[10.0, 50.0, 100.0],
            ),
        );
        add(
            knob::CPU_BURN,
            numeric(
                Unit::Millis,
                "CPU spun per request on its own thread",
                &[5.0, 20.0, 50.0],
            ),
        );
        add(
            knob::MEMORY_LEAK,
            numeric(
                Unit::Mebibytes,
                "memory held, grown 34 MiB a second up to this; freed when off",
                &[64.0, 160.0],
            ),
        );
        add(knob::READINESS, switch("/health/ready answers 503"));
        add(
            knob::CRASH,
            numeric(
                Unit::Percent,
                "share of requests that end the process",
                &[1.0, 5.0, 100.0],
            ),
        );
        add(
            knob::VERSION,
            texts(
                Unit::Text,
                "the version the service behaves as",
                &[CURRENT_VERSION],
                CURRENT_VERSION,
            ),
        );
        if svc.store.is_some() {
            add(
                knob::STORE_DELAY,
                numeric(
                    Unit::Millis,
                    "delay before every data store operation",
                    &[50.0, 250.0, 1000.0],
                ),
            );
        }
        if svc.store == Some(StoreKind::Memory) {
            add(
                knob::STORE_LOST,
                switch("the in-memory store is wiped every second"),
            );
        }
        if name == PAYMENT {
            add(
                knob::CARD_FAILURE,
                numeric(
                    Unit::Percent,
                    "charges failing at the issuer (target with card_bin)",
                    &[100.0],
                ),
            );
        }
        if !svc.depends_on.is_empty() {
            add(
                knob::RETRY_STORM,
                numeric(
                    Unit::Retries,
                    "extra immediate retries of every failed call (target with peer)",
                    &[3.0, 10.0],
                ),
            );
        }
        for peer in &svc.depends_on {
            flags.insert(
                link_key(name, peer),
                texts(
                    Unit::Text,
                    "how this caller reaches the peer",
                    &[link::OK, link::UNREACHABLE, link::PARTITIONED],
                    link::OK,
                ),
            );
        }
    }
    FlagSet {
        schema: SCHEMA.to_owned(),
        flags,
    }
}

/// A fault as the control plane accepts it (`POST /api/faults`, `apiary fault set`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultSpec {
    /// 5xx on a share of requests, optionally on one route (`POST /charges`); 500 unless
    /// `status` is 502, 503 or 504 (answers a caller may retry).
    ErrorRate {
        service: String,
        percent: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        route: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
    },
    /// Fixed + jitter latency on a share of requests.
    Latency {
        service: String,
        ms: f64,
        #[serde(default)]
        jitter_ms: f64,
        #[serde(default = "hundred")]
        percent: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        route: Option<String>,
    },
    /// Requests never answered (the caller times out).
    Hang {
        service: String,
        #[serde(default = "hundred")]
        percent: f64,
    },
    CpuBurn {
        service: String,
        ms: f64,
    },
    /// Bounded and reversible: freed when the fault ends.
    MemoryLeak {
        service: String,
        mib: f64,
    },
    FailingReadiness {
        service: String,
    },
    /// The process exits on a share of requests; the launcher restarts it.
    Crash {
        service: String,
        #[serde(default = "hundred")]
        percent: f64,
    },
    SlowStore {
        service: String,
        ms: f64,
    },
    /// Carts disappear (the cart store is wiped every second while active).
    CartStoreLost {},
    /// One product id (catalog answers 500 for it) or one card range (payment's issuer fails).
    TargetedFailure {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        product_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        card_prefix: Option<String>,
        #[serde(default = "hundred")]
        percent: f64,
    },
    /// `service.version` flips to `version`, and that version errors on `error_percent`.
    BadDeploy {
        service: String,
        #[serde(default = "bad_version")]
        version: String,
        #[serde(default = "fifty")]
        error_percent: f64,
    },
    /// The caller cannot connect to the peer.
    Unreachable {
        service: String,
        peer: String,
    },
    /// Calls between the two services (either direction that exists) hang until timeout.
    Partition {
        a: String,
        b: String,
    },
    /// A caller retries every failed call `retries` times at once (optionally only to `peer`).
    RetryStorm {
        service: String,
        retries: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<String>,
    },
    /// The load generator's rate multiplied by `factor`.
    TrafficSpike {
        factor: f64,
    },
}

fn hundred() -> f64 {
    100.0
}
fn fifty() -> f64 {
    50.0
}
fn bad_version() -> String {
    "0.2.0-rc.1".to_owned()
}

/// Where a change applies inside a flag: everywhere, or only where the evaluation context says so.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    All,
    /// Context `route` equals (e.g. `POST /charges`).
    Route(String),
    /// Context `path` equals (e.g. `/products/B0001`).
    Path(String),
    /// Context `version` equals.
    Version(String),
    /// Context `card_bin` starts with.
    CardPrefix(String),
    /// Context `peer` equals.
    Peer(String),
}

/// One flag set to one value.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagChange {
    pub key: String,
    pub value: Value,
    pub scope: Scope,
}

impl FlagChange {
    fn all(key: String, value: Value) -> Self {
        Self {
            key,
            value,
            scope: Scope::All,
        }
    }
}

/// Limits the control plane enforces.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Caps {
    /// Active faults at once.
    pub max_active: usize,
    /// The largest share of requests any one fault may touch.
    pub max_percent: f64,
    /// The longest time-to-live a fault may have.
    pub max_ttl_s: u64,
    /// The largest traffic-spike factor.
    pub max_spike_factor: f64,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            max_active: 8,
            max_percent: 100.0,
            max_ttl_s: 3600,
            max_spike_factor: 20.0,
        }
    }
}

/// Why a fault cannot be set on this stack (each message says what to change).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidFault {
    #[error("unknown service {service:?}; known: {}", known.join(", "))]
    UnknownService { service: String, known: Vec<String> },
    #[error("{what} must be more than 0 and at most {max}, got {got}")]
    OutOfRange {
        what: &'static str,
        max: f64,
        got: f64,
    },
    #[error("{what} {got}% is over the blast-radius cap of {cap}%")]
    OverCap {
        what: &'static str,
        got: f64,
        cap: f64,
    },
    #[error("route {0:?} must look like \"METHOD /path/{{param}}\" (as in http.route)")]
    Route(String),
    #[error("status must be 500, 502, 503 or 504, got {0}")]
    Status(u16),
    #[error("jitter_ms must be 0..60000, got {0}")]
    Jitter(f64),
    #[error("{0} has no data store to slow down")]
    NoStore(String),
    #[error("cart has no in-memory store in this stack")]
    NoMemoryCart,
    #[error("card_prefix must be 1 to 8 digits (a BIN range)")]
    CardPrefix,
    #[error("give exactly one of product_id or card_prefix")]
    OneTarget,
    #[error("version {0:?} must name a new version")]
    Version(String),
    #[error("{service} does not call {peer}")]
    NotACaller { service: String, peer: String },
    #[error("{a} and {b} do not talk to each other")]
    NoLink { a: String, b: String },
    #[error("retries must be 1..20, got {0}")]
    Retries(u32),
    #[error("{0} calls no other service")]
    CallsNobody(String),
    #[error("factor must be more than 1 and at most {max}, got {got}")]
    SpikeFactor { max: f64, got: f64 },
}

fn check_percent(what: &'static str, p: f64, caps: &Caps) -> Result<(), InvalidFault> {
    check_amount(what, p, 100.0)?;
    if p > caps.max_percent {
        return Err(InvalidFault::OverCap {
            what,
            got: p,
            cap: caps.max_percent,
        });
    }
    Ok(())
}

fn check_amount(what: &'static str, v: f64, max: f64) -> Result<(), InvalidFault> {
    if !(v.is_finite() && v > 0.0 && v <= max) {
        return Err(InvalidFault::OutOfRange { what, max, got: v });
    }
    Ok(())
}

fn check_route(route: Option<&String>) -> Result<(), InvalidFault> {
    match route {
        Some(r)
            if r.split_once(' ')
                .is_none_or(|(m, p)| m.is_empty() || !p.starts_with('/')) =>
        {
            Err(InvalidFault::Route(r.clone()))
        }
        _ => Ok(()),
    }
}

impl FaultSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            FaultSpec::ErrorRate { .. } => "error-rate",
            FaultSpec::Latency { .. } => "latency",
            FaultSpec::Hang { .. } => "hang",
            FaultSpec::CpuBurn { .. } => "cpu-burn",
            FaultSpec::MemoryLeak { .. } => "memory-leak",
            FaultSpec::FailingReadiness { .. } => "failing-readiness",
            FaultSpec::Crash { .. } => "crash",
            FaultSpec::SlowStore { .. } => "slow-store",
            FaultSpec::CartStoreLost {} => "cart-store-lost",
            FaultSpec::TargetedFailure { .. } => "targeted-failure",
            FaultSpec::BadDeploy { .. } => "bad-deploy",
            FaultSpec::Unreachable { .. } => "unreachable",
            FaultSpec::Partition { .. } => "partition",
            FaultSpec::RetryStorm { .. } => "retry-storm",
            FaultSpec::TrafficSpike { .. } => "traffic-spike",
        }
    }

    /// Every kind, for listings and error messages.
    pub const KINDS: [&'static str; 15] = [
        "error-rate",
        "latency",
        "hang",
        "cpu-burn",
        "memory-leak",
        "failing-readiness",
        "crash",
        "slow-store",
        "cart-store-lost",
        "targeted-failure",
        "bad-deploy",
        "unreachable",
        "partition",
        "retry-storm",
        "traffic-spike",
    ];

    /// The services whose behaviour changes (the first is the one a drill watches by default).
    pub fn services(&self) -> Vec<String> {
        match self {
            FaultSpec::ErrorRate { service, .. }
            | FaultSpec::Latency { service, .. }
            | FaultSpec::Hang { service, .. }
            | FaultSpec::CpuBurn { service, .. }
            | FaultSpec::MemoryLeak { service, .. }
            | FaultSpec::FailingReadiness { service }
            | FaultSpec::Crash { service, .. }
            | FaultSpec::SlowStore { service, .. }
            | FaultSpec::BadDeploy { service, .. }
            | FaultSpec::Unreachable { service, .. }
            | FaultSpec::RetryStorm { service, .. } => vec![service.clone()],
            FaultSpec::CartStoreLost {} => vec![CART.to_owned()],
            FaultSpec::TargetedFailure { card_prefix, .. } => {
                vec![
                    if card_prefix.is_some() {
                        PAYMENT
                    } else {
                        CATALOG
                    }
                    .to_owned(),
                ]
            }
            FaultSpec::Partition { a, b } => vec![a.clone(), b.clone()],
            FaultSpec::TrafficSpike { .. } => Vec::new(),
        }
    }

    /// The share of requests it touches, where it has one (the blast radius).
    pub fn percent(&self) -> Option<f64> {
        match self {
            FaultSpec::ErrorRate { percent, .. }
            | FaultSpec::Latency { percent, .. }
            | FaultSpec::Hang { percent, .. }
            | FaultSpec::Crash { percent, .. }
            | FaultSpec::TargetedFailure { percent, .. } => Some(*percent),
            FaultSpec::BadDeploy { error_percent, .. } => Some(*error_percent),
            _ => None,
        }
    }

    /// Refuses what cannot apply to this stack or is over a cap, saying why.
    pub fn validate(&self, shape: &Shape, caps: &Caps) -> Result<(), InvalidFault> {
        for s in self.services() {
            if !shape.has(&s) {
                return Err(InvalidFault::UnknownService {
                    known: shape.services.keys().cloned().collect(),
                    service: s.to_string(),
                });
            }
        }
        if let Some(p) = self.percent() {
            check_percent("percent", p, caps)?;
        }
        match self {
            FaultSpec::ErrorRate { route, .. } | FaultSpec::Latency { route, .. }
                if route.is_some() =>
            {
                check_route(route.as_ref())?;
            }
            _ => {}
        }
        match self {
            FaultSpec::ErrorRate {
                status: Some(status),
                ..
            } if ![500, 502, 503, 504].contains(status) => {
                return Err(InvalidFault::Status(*status));
            }
            FaultSpec::Latency { ms, jitter_ms, .. } => {
                check_amount("ms", *ms, 60_000.0)?;
                if !(jitter_ms.is_finite() && (0.0..=60_000.0).contains(jitter_ms)) {
                    return Err(InvalidFault::Jitter(*jitter_ms));
                }
            }
            FaultSpec::CpuBurn { ms, .. } => check_amount("ms", *ms, 1_000.0)?,
            FaultSpec::MemoryLeak { mib, .. } => check_amount("mib", *mib, 1_024.0)?,
            FaultSpec::SlowStore { service, ms } => {
                check_amount("ms", *ms, 30_000.0)?;
                if shape.store(service).is_none() {
                    return Err(InvalidFault::NoStore(service.clone()));
                }
            }
            FaultSpec::CartStoreLost {} if shape.store(CART) != Some(StoreKind::Memory) => {
                return Err(InvalidFault::NoMemoryCart);
            }
            FaultSpec::TargetedFailure {
                product_id,
                card_prefix,
                ..
            } => match (product_id, card_prefix) {
                (Some(id), None) if !id.is_empty() && id.len() <= 64 => {}
                (None, Some(p))
                    if (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {}
                (None, Some(_)) => {
                    return Err(InvalidFault::CardPrefix);
                }
                _ => {
                    return Err(InvalidFault::OneTarget);
                }
            },
            FaultSpec::BadDeploy { version, .. }
                if version.is_empty() || version == CURRENT_VERSION || version.len() > 40 =>
            {
                return Err(InvalidFault::Version(version.clone()));
            }
            FaultSpec::Unreachable { service, peer } if !shape.calls(service, peer) => {
                return Err(InvalidFault::NotACaller {
                    service: service.clone(),
                    peer: peer.clone(),
                });
            }
            FaultSpec::Partition { a, b } if !shape.calls(a, b) && !shape.calls(b, a) => {
                return Err(InvalidFault::NoLink {
                    a: a.clone(),
                    b: b.clone(),
                });
            }
            FaultSpec::RetryStorm {
                service,
                retries,
                peer,
            } => {
                if !(1..=20).contains(retries) {
                    return Err(InvalidFault::Retries(*retries));
                }
                if shape
                    .services
                    .get(service)
                    .is_none_or(|s| s.depends_on.is_empty())
                {
                    return Err(InvalidFault::CallsNobody(service.clone()));
                }
                if let Some(p) = peer
                    && !shape.calls(service, p)
                {
                    return Err(InvalidFault::NotACaller {
                        service: service.clone(),
                        peer: p.clone(),
                    });
                }
            }
            FaultSpec::TrafficSpike { factor }
                if !(factor.is_finite() && *factor > 1.0 && *factor <= caps.max_spike_factor) =>
            {
                return Err(InvalidFault::SpikeFactor {
                    max: caps.max_spike_factor,
                    got: *factor,
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// The flags this fault sets (none for a traffic spike, which goes to the load generator).
    pub fn changes(&self, shape: &Shape) -> Vec<FlagChange> {
        let set = |svc: &str, k: &str, v: Value| FlagChange::all(flag_key(svc, k), v);
        let scoped = |svc: &str, k: &str, v: Value, route: &Option<String>| FlagChange {
            key: flag_key(svc, k),
            value: v,
            scope: route.clone().map_or(Scope::All, Scope::Route),
        };
        match self {
            FaultSpec::ErrorRate {
                service,
                percent,
                route,
                status,
            } => {
                let mut v = vec![scoped(service, knob::ERROR_RATE, json!(percent), route)];
                if let Some(status) = status.filter(|s| *s != 500) {
                    v.push(set(service, knob::ERROR_STATUS, json!(status)));
                }
                v
            }
            FaultSpec::Latency {
                service,
                ms,
                jitter_ms,
                percent,
                route,
            } => {
                let mut v = vec![
                    set(service, knob::LATENCY_MS, json!(ms)),
                    scoped(service, knob::LATENCY_PERCENT, json!(percent), route),
                ];
                if *jitter_ms > 0.0 {
                    v.push(set(service, knob::LATENCY_JITTER_MS, json!(jitter_ms)));
                }
                v
            }
            FaultSpec::Hang { service, percent } => vec![set(service, knob::HANG, json!(percent))],
            FaultSpec::CpuBurn { service, ms } => vec![set(service, knob::CPU_BURN, json!(ms))],
            FaultSpec::MemoryLeak { service, mib } => {
                vec![set(service, knob::MEMORY_LEAK, json!(mib))]
            }
            FaultSpec::FailingReadiness { service } => {
                vec![set(service, knob::READINESS, json!(true))]
            }
            FaultSpec::Crash { service, percent } => {
                vec![set(service, knob::CRASH, json!(percent))]
            }
            FaultSpec::SlowStore { service, ms } => {
                vec![set(service, knob::STORE_DELAY, json!(ms))]
            }
            FaultSpec::CartStoreLost {} => vec![set(CART, knob::STORE_LOST, json!(true))],
            FaultSpec::TargetedFailure {
                product_id,
                card_prefix,
                percent,
            } => match (product_id, card_prefix) {
                (_, Some(prefix)) => vec![FlagChange {
                    key: flag_key(PAYMENT, knob::CARD_FAILURE),
                    value: json!(percent),
                    scope: Scope::CardPrefix(prefix.clone()),
                }],
                (Some(id), None) => vec![FlagChange {
                    key: flag_key(CATALOG, knob::ERROR_RATE),
                    value: json!(percent),
                    scope: Scope::Path(format!("/products/{id}")),
                }],
                (None, None) => Vec::new(),
            },
            FaultSpec::BadDeploy {
                service,
                version,
                error_percent,
            } => vec![
                set(service, knob::VERSION, json!(version)),
                FlagChange {
                    key: flag_key(service, knob::ERROR_RATE),
                    value: json!(error_percent),
                    scope: Scope::Version(version.clone()),
                },
            ],
            FaultSpec::Unreachable { service, peer } => vec![FlagChange::all(
                link_key(service, peer),
                json!(link::UNREACHABLE),
            )],
            FaultSpec::Partition { a, b } => [(a, b), (b, a)]
                .into_iter()
                .filter(|(x, y)| shape.calls(x, y))
                .map(|(x, y)| FlagChange::all(link_key(x, y), json!(link::PARTITIONED)))
                .collect(),
            FaultSpec::RetryStorm {
                service,
                retries,
                peer,
            } => vec![FlagChange {
                key: flag_key(service, knob::RETRY_STORM),
                value: json!(retries),
                scope: peer.clone().map_or(Scope::All, Scope::Peer),
            }],
            FaultSpec::TrafficSpike { .. } => Vec::new(),
        }
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = |route: &Option<String>| {
            route
                .as_ref()
                .map(|r| format!(" on {r}"))
                .unwrap_or_default()
        };
        match self {
            FaultSpec::ErrorRate {
                service,
                percent,
                route,
                status,
            } => write!(
                f,
                "{service}: {percent}% errors{}{}",
                status.map(|s| format!(" ({s})")).unwrap_or_default(),
                on(route)
            ),
            FaultSpec::Latency {
                service,
                ms,
                jitter_ms,
                percent,
                route,
            } => write!(
                f,
                "{service}: +{ms}ms (±{jitter_ms}ms) on {percent}%{}",
                on(route)
            ),
            FaultSpec::Hang { service, percent } => {
                write!(f, "{service}: {percent}% of requests hang")
            }
            FaultSpec::CpuBurn { service, ms } => {
                write!(f, "{service}: {ms}ms CPU burn per request")
            }
            FaultSpec::MemoryLeak { service, mib } => {
                write!(f, "{service}: memory leak up to {mib} MiB")
            }
            FaultSpec::FailingReadiness { service } => write!(f, "{service}: readiness failing"),
            FaultSpec::Crash { service, percent } => {
                write!(f, "{service}: crash on {percent}% of requests")
            }
            FaultSpec::SlowStore { service, ms } => write!(f, "{service}: data store +{ms}ms"),
            FaultSpec::CartStoreLost {} => write!(f, "cart: store lost"),
            FaultSpec::TargetedFailure {
                product_id,
                card_prefix,
                percent,
            } => match (product_id, card_prefix) {
                (_, Some(p)) => write!(f, "payment: cards {p}… fail ({percent}%)"),
                (Some(id), _) => write!(f, "catalog: product {id} fails ({percent}%)"),
                _ => write!(f, "targeted failure"),
            },
            FaultSpec::BadDeploy {
                service,
                version,
                error_percent,
            } => write!(
                f,
                "{service}: bad deploy {version} ({error_percent}% errors)"
            ),
            FaultSpec::Unreachable { service, peer } => {
                write!(f, "{service} -> {peer}: unreachable")
            }
            FaultSpec::Partition { a, b } => write!(f, "{a} <-> {b}: partitioned"),
            FaultSpec::RetryStorm {
                service,
                retries,
                peer,
            } => write!(
                f,
                "{service}: retry storm x{retries}{}",
                peer.as_ref()
                    .map(|p| format!(" to {p}"))
                    .unwrap_or_default()
            ),
            FaultSpec::TrafficSpike { factor } => write!(f, "traffic spike x{factor}"),
        }
    }
}

/// Why changes could not be written.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RenderError {
    #[error("no flag {0} in the flag file")]
    NoSuchFlag(String),
    #[error("flag {key}: {value} is not a {unit}")]
    BadValue {
        key: String,
        value: String,
        unit: &'static str,
    },
    #[error("flag {0} is already set by another active fault")]
    Conflict(String),
}

fn condition(scope: &Scope) -> Option<Value> {
    let eq = |var: &str, v: &str| json!({"==": [{"var": var}, v]});
    match scope {
        Scope::All => None,
        Scope::Route(r) => Some(eq("route", r)),
        Scope::Path(p) => Some(eq("path", p)),
        Scope::Version(v) => Some(eq("version", v)),
        Scope::Peer(p) => Some(eq("peer", p)),
        Scope::CardPrefix(p) => Some(json!({"starts_with": [{"var": "card_bin"}, p]})),
    }
}

/// `base` with every fault in `faults` applied (see [`render`]).
pub fn render_faults<'a>(
    base: &FlagSet,
    shape: &Shape,
    faults: impl IntoIterator<Item = &'a FaultSpec>,
) -> Result<FlagSet, RenderError> {
    let changes: Vec<FlagChange> = faults.into_iter().flat_map(|f| f.changes(shape)).collect();
    render(base, &changes)
}

/// The flag file with `changes` applied on top of `base`: each change adds the variant its
/// value needs (labelled by [`canonical_label`]) and makes it the default, or — scoped — the
/// targeting's answer where the context matches. One flag takes one change.
pub fn render(base: &FlagSet, changes: &[FlagChange]) -> Result<FlagSet, RenderError> {
    let mut out = base.clone();
    let mut touched = std::collections::BTreeSet::new();
    for change in changes {
        let flag = out
            .flags
            .get_mut(&change.key)
            .ok_or_else(|| RenderError::NoSuchFlag(change.key.clone()))?;
        if !touched.insert(change.key.clone()) {
            return Err(RenderError::Conflict(change.key.clone()));
        }
        let unit = flag.unit().unwrap_or(Unit::Text);
        let label = canonical_label(unit, &change.value).ok_or_else(|| RenderError::BadValue {
            key: change.key.clone(),
            value: change.value.to_string(),
            unit: unit.as_str(),
        })?;
        flag.variants.insert(label.clone(), change.value.clone());
        match condition(&change.scope) {
            None => flag.default_variant = label,
            Some(cond) => {
                flag.targeting = Some(json!({"if": [cond, label, flag.default_variant.clone()]}));
            }
        }
    }
    for key in &touched {
        let service = key.split('.').next().unwrap_or_default();
        if let Some(armed) = out.flags.get_mut(&flag_key(service, knob::ARMED)) {
            armed.default_variant = "on".to_owned();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flagd::label_mismatches;

    fn shape() -> Shape {
        let s = |deps: &[&str], store| ServiceShape {
            depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
            store,
        };
        Shape {
            services: BTreeMap::from([
                ("catalog".to_owned(), s(&[], None)),
                ("cart".to_owned(), s(&[], Some(StoreKind::Memory))),
                ("checkout".to_owned(), s(&["cart", "payment"], None)),
                ("payment".to_owned(), s(&[], Some(StoreKind::Sqlite))),
            ]),
        }
    }

    fn spec(v: Value) -> FaultSpec {
        serde_json::from_value(v).expect("a valid spec")
    }

    #[test]
    fn the_base_file_is_honest_and_complete() {
        let base = base_flags(&shape());
        assert!(
            label_mismatches(&base).is_empty(),
            "{:?}",
            label_mismatches(&base)
        );
        assert!(base.flags.contains_key("payment.store-delay-ms"));
        assert!(
            !base.flags.contains_key("catalog.store-delay-ms"),
            "no store, no knob"
        );
        assert!(base.flags.contains_key("cart.store-lost"));
        assert!(!base.flags.contains_key("payment.store-lost"));
        assert!(base.flags.contains_key("checkout.to.payment"));
        assert!(!base.flags.contains_key("payment.to.checkout"));
        assert!(base.flags.contains_key("payment.card-failure-percent"));
        assert!(
            !base.flags.contains_key("catalog.retry-storm"),
            "calls no one"
        );
    }

    #[test]
    fn every_kind_renders_to_an_honest_file() {
        let shape = shape();
        let base = base_flags(&shape);
        let specs = [
            json!({"kind": "error-rate", "service": "payment", "percent": 37, "route": "POST /charges"}),
            json!({"kind": "error-rate", "service": "catalog", "percent": 100, "status": 503}),
            json!({"kind": "latency", "service": "catalog", "ms": 800, "jitter_ms": 200, "percent": 90}),
            json!({"kind": "hang", "service": "cart", "percent": 10}),
            json!({"kind": "cpu-burn", "service": "checkout", "ms": 20}),
            json!({"kind": "memory-leak", "service": "checkout", "mib": 96}),
            json!({"kind": "failing-readiness", "service": "catalog"}),
            json!({"kind": "crash", "service": "cart", "percent": 2}),
            json!({"kind": "slow-store", "service": "payment", "ms": 300}),
            json!({"kind": "cart-store-lost"}),
            json!({"kind": "targeted-failure", "card_prefix": "4000"}),
            json!({"kind": "bad-deploy", "service": "checkout"}),
            json!({"kind": "unreachable", "service": "checkout", "peer": "cart"}),
            json!({"kind": "partition", "a": "payment", "b": "checkout"}),
            json!({"kind": "retry-storm", "service": "checkout", "retries": 5, "peer": "payment"}),
        ];
        for v in specs {
            let s = spec(v.clone());
            s.validate(&shape, &Caps::default())
                .unwrap_or_else(|e| panic!("{v}: {e}"));
            let out = render(&base, &s.changes(&shape)).unwrap_or_else(|e| panic!("{v}: {e}"));
            assert!(
                label_mismatches(&out).is_empty(),
                "{v}: {:?}",
                label_mismatches(&out)
            );
            assert_ne!(out, base, "{v} changed nothing");
        }
    }

    #[test]
    fn a_scoped_change_targets_and_keeps_the_default_off() {
        let shape = shape();
        let s = spec(
            json!({"kind": "error-rate", "service": "payment", "percent": 37, "route": "POST /charges"}),
        );
        let out = render(&base_flags(&shape), &s.changes(&shape)).expect("renders");
        let f = &out.flags["payment.error-rate"];
        assert_eq!(f.default_variant, "off");
        assert_eq!(f.variants["37%"], json!(37.0));
        assert_eq!(out.flags["payment.armed"].default_variant, "on");
        assert_eq!(out.flags["catalog.armed"].default_variant, "off");
        assert_eq!(
            f.targeting,
            Some(json!({"if": [{"==": [{"var": "route"}, "POST /charges"]}, "37%", "off"]}))
        );
    }

    #[test]
    fn a_partition_cuts_the_directions_that_exist() {
        let shape = shape();
        let s = spec(json!({"kind": "partition", "a": "payment", "b": "checkout"}));
        let changes = s.changes(&shape);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].key, "checkout.to.payment");
        assert_eq!(changes[0].value, json!("partitioned"));
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        let shape = shape();
        let caps = Caps {
            max_percent: 50.0,
            ..Caps::default()
        };
        let cases = [
            (
                json!({"kind": "error-rate", "service": "nope", "percent": 10}),
                "unknown service",
            ),
            (
                json!({"kind": "error-rate", "service": "payment", "percent": 80}),
                "blast-radius cap",
            ),
            (
                json!({"kind": "error-rate", "service": "payment", "percent": 0}),
                "more than 0",
            ),
            (
                json!({"kind": "error-rate", "service": "payment", "percent": 5, "route": "charges"}),
                "METHOD /path",
            ),
            (
                json!({"kind": "error-rate", "service": "payment", "percent": 5, "status": 418}),
                "500, 502, 503 or 504",
            ),
            (
                json!({"kind": "slow-store", "service": "catalog", "ms": 100}),
                "no data store",
            ),
            (
                json!({"kind": "unreachable", "service": "payment", "peer": "cart"}),
                "does not call",
            ),
            (
                json!({"kind": "partition", "a": "cart", "b": "payment"}),
                "do not talk",
            ),
            (
                json!({"kind": "targeted-failure", "percent": 10}),
                "exactly one",
            ),
            (
                json!({"kind": "targeted-failure", "card_prefix": "4x", "percent": 10}),
                "digits",
            ),
            (
                json!({"kind": "retry-storm", "service": "catalog", "retries": 3}),
                "calls no other",
            ),
            (
                json!({"kind": "traffic-spike", "factor": 100}),
                "at most 20",
            ),
            (
                json!({"kind": "latency", "service": "cart", "ms": -5, "percent": 10}),
                "more than 0",
            ),
        ];
        for (v, why) in cases {
            let err = spec(v.clone())
                .validate(&shape, &caps)
                .expect_err(&v.to_string());
            assert!(err.to_string().contains(why), "{v}: {err}");
        }
        // The refusal is a value a caller can match on, not only a message.
        let unknown = spec(json!({"kind": "crash", "service": "ledger", "percent": 10}))
            .validate(&shape, &caps)
            .expect_err("unknown service");
        assert!(
            matches!(&unknown, InvalidFault::UnknownService { service, known }
                if service == "ledger" && known.iter().any(|k| k == "cart")),
            "{unknown:?}"
        );
        assert!(serde_json::from_value::<FaultSpec>(json!({"kind": "meltdown"})).is_err());
        assert!(
            serde_json::from_value::<FaultSpec>(
                json!({"kind": "hang", "service": "cart", "colour": 1})
            )
            .is_err(),
            "unknown fields are refused"
        );
    }

    #[test]
    fn one_flag_takes_one_change() {
        let shape = shape();
        let a = spec(json!({"kind": "error-rate", "service": "payment", "percent": 10}));
        let mut changes = a.changes(&shape);
        changes.extend(a.changes(&shape));
        assert_eq!(
            render(&base_flags(&shape), &changes),
            Err(RenderError::Conflict("payment.error-rate".into()))
        );
    }
}
