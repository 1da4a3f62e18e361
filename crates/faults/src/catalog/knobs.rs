//! Flag names and what the catalogue knows of the stack: the per-service knobs, how a caller
//! reaches a peer, the keys built from them, and each service's dependencies and store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Flag names after `{service}.`; each knob is read by the part of the service it names.
pub mod knob {
    /// The service reads its other knobs only while this is on (one cheap evaluation per
    /// request when nothing is wrong). [`crate::catalog::render`] turns it on for every service
    /// whose flags it changes; hand-edited flag files must do the same.
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
    /// Time a consumer spends per message before handling it (it falls behind).
    pub const CONSUMER_SLOW_MS: &str = "consumer-slow-ms";
    /// Share of deliveries on which the consumer crashes: nacked back, consumer restarted.
    pub const CONSUMER_CRASH: &str = "consumer-crash-percent";
    /// Share of processed deliveries handed back to the broker instead of acked, so they are
    /// delivered again (duplicates for the inbox to absorb).
    pub const DUPLICATE: &str = "duplicate-percent";
    /// Share of published events followed by a malformed one (a producer bug).
    pub const POISON: &str = "poison-percent";
    /// How this service reaches the broker ([`super::link`] `ok` or `unreachable`).
    pub const BROKER: &str = "broker";
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
    /// It publishes events on the broker.
    pub publishes: bool,
    /// It consumes events from the broker.
    pub consumes: bool,
}

/// The stack the faults apply to (from the manifest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    pub services: BTreeMap<String, ServiceShape>,
}

impl Shape {
    pub(super) fn has(&self, service: &str) -> bool {
        self.services.contains_key(service)
    }

    pub(super) fn calls(&self, caller: &str, peer: &str) -> bool {
        self.services
            .get(caller)
            .is_some_and(|s| s.depends_on.iter().any(|d| d == peer))
    }

    pub(super) fn store(&self, service: &str) -> Option<StoreKind> {
        self.services.get(service).and_then(|s| s.store)
    }

    pub(super) fn consumes(&self, service: &str) -> bool {
        self.services.get(service).is_some_and(|s| s.consumes)
    }

    pub(super) fn publishes(&self, service: &str) -> bool {
        self.services.get(service).is_some_and(|s| s.publishes)
    }

    /// The services that talk to the broker, in name order.
    pub fn messaging(&self) -> Vec<String> {
        self.services
            .iter()
            .filter(|(_, s)| s.publishes || s.consumes)
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// The services that have special-purpose knobs.
pub const CART: &str = "cart";
pub const PAYMENT: &str = "payment";
pub const CATALOG: &str = "catalog";
