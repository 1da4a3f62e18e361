//! What a fault request is: [`FaultSpec`] as the control plane accepts it (with its serde
//! defaults), what it touches, the [`Scope`] and [`FlagChange`] it becomes, and the [`Caps`] the
//! control plane enforces.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::knobs::{CART, CATALOG, PAYMENT};

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
    /// A consumer spends `ms` per message before handling it: its queue grows.
    ConsumerSlow {
        service: String,
        ms: f64,
    },
    /// A consumer crashes on a share of deliveries (each goes back to the queue, the consumer
    /// restarts).
    ConsumerCrash {
        service: String,
        #[serde(default = "hundred")]
        percent: f64,
    },
    /// A producer follows a share of its events with a malformed one.
    PoisonMessage {
        service: String,
        #[serde(default = "ten")]
        percent: f64,
    },
    /// Every service is cut from the message broker.
    BrokerDown {},
    /// A consumer hands a share of processed deliveries back, so each arrives twice.
    DuplicateDelivery {
        service: String,
        #[serde(default = "fifty")]
        percent: f64,
    },
}

fn hundred() -> f64 {
    100.0
}
fn fifty() -> f64 {
    50.0
}
fn ten() -> f64 {
    10.0
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
    pub(super) fn all(key: String, value: Value) -> Self {
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
            FaultSpec::ConsumerSlow { .. } => "consumer-slow",
            FaultSpec::ConsumerCrash { .. } => "consumer-crash",
            FaultSpec::PoisonMessage { .. } => "poison-message",
            FaultSpec::BrokerDown {} => "broker-down",
            FaultSpec::DuplicateDelivery { .. } => "duplicate-delivery",
        }
    }

    /// Every kind, for listings and error messages.
    pub const KINDS: [&'static str; 20] = [
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
        "consumer-slow",
        "consumer-crash",
        "poison-message",
        "broker-down",
        "duplicate-delivery",
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
            | FaultSpec::RetryStorm { service, .. }
            | FaultSpec::ConsumerSlow { service, .. }
            | FaultSpec::ConsumerCrash { service, .. }
            | FaultSpec::PoisonMessage { service, .. }
            | FaultSpec::DuplicateDelivery { service, .. } => vec![service.clone()],
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
            // Every messaging service; which ones depends on the stack (see `changes`).
            FaultSpec::TrafficSpike { .. } | FaultSpec::BrokerDown {} => Vec::new(),
        }
    }

    /// Whether it acts on the requests or messages a service handles, so that the first one
    /// it touched carries `apiary.fault` on its span (a drill's "first affected request").
    /// Every kind says so here: a new kind cannot be left out.
    pub fn acts_on_requests(&self) -> bool {
        match self {
            FaultSpec::ErrorRate { .. }
            | FaultSpec::Latency { .. }
            | FaultSpec::Hang { .. }
            | FaultSpec::CpuBurn { .. }
            | FaultSpec::Crash { .. }
            | FaultSpec::BadDeploy { .. }
            | FaultSpec::TargetedFailure { .. }
            | FaultSpec::Unreachable { .. }
            | FaultSpec::Partition { .. }
            | FaultSpec::RetryStorm { .. }
            | FaultSpec::ConsumerSlow { .. }
            | FaultSpec::ConsumerCrash { .. }
            | FaultSpec::DuplicateDelivery { .. } => true,
            // A probe, a store, the process's memory, the load generator, the producer's
            // payload or the broker: no handled request carries the mark.
            FaultSpec::MemoryLeak { .. }
            | FaultSpec::FailingReadiness { .. }
            | FaultSpec::SlowStore { .. }
            | FaultSpec::CartStoreLost {}
            | FaultSpec::TrafficSpike { .. }
            | FaultSpec::PoisonMessage { .. }
            | FaultSpec::BrokerDown {} => false,
        }
    }

    /// The share of requests it touches, where it has one (the blast radius).
    pub fn percent(&self) -> Option<f64> {
        match self {
            FaultSpec::ErrorRate { percent, .. }
            | FaultSpec::Latency { percent, .. }
            | FaultSpec::Hang { percent, .. }
            | FaultSpec::Crash { percent, .. }
            | FaultSpec::TargetedFailure { percent, .. }
            | FaultSpec::ConsumerCrash { percent, .. }
            | FaultSpec::PoisonMessage { percent, .. }
            | FaultSpec::DuplicateDelivery { percent, .. } => Some(*percent),
            FaultSpec::BadDeploy { error_percent, .. } => Some(*error_percent),
            _ => None,
        }
    }
}
