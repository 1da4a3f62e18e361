//! Whether a fault can apply to this stack and is within the caps ([`InvalidFault`] says why
//! not), and the flag changes a valid fault makes.

use serde_json::{Value, json};

use super::knobs::{
    CART, CATALOG, CURRENT_VERSION, PAYMENT, Shape, StoreKind, flag_key, knob, link, link_key,
};
use super::spec::{Caps, FaultSpec, FlagChange, Scope};

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
    #[error("{0} consumes no events")]
    NotAConsumer(String),
    #[error("{0} publishes no events")]
    NotAProducer(String),
    #[error("no service of this stack uses a message broker")]
    NoBroker,
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
            FaultSpec::ConsumerSlow { service, ms } => {
                check_amount("ms", *ms, 60_000.0)?;
                if !shape.consumes(service) {
                    return Err(InvalidFault::NotAConsumer(service.clone()));
                }
            }
            FaultSpec::ConsumerCrash { service, .. }
            | FaultSpec::DuplicateDelivery { service, .. }
                if !shape.consumes(service) =>
            {
                return Err(InvalidFault::NotAConsumer(service.clone()));
            }
            FaultSpec::PoisonMessage { service, .. } if !shape.publishes(service) => {
                return Err(InvalidFault::NotAProducer(service.clone()));
            }
            FaultSpec::BrokerDown {} if shape.messaging().is_empty() => {
                return Err(InvalidFault::NoBroker);
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
            FaultSpec::ConsumerSlow { service, ms } => {
                vec![set(service, knob::CONSUMER_SLOW_MS, json!(ms))]
            }
            FaultSpec::ConsumerCrash { service, percent } => {
                vec![set(service, knob::CONSUMER_CRASH, json!(percent))]
            }
            FaultSpec::PoisonMessage { service, percent } => {
                vec![set(service, knob::POISON, json!(percent))]
            }
            FaultSpec::DuplicateDelivery { service, percent } => {
                vec![set(service, knob::DUPLICATE, json!(percent))]
            }
            FaultSpec::BrokerDown {} => shape
                .messaging()
                .iter()
                .map(|s| set(s, knob::BROKER, json!(link::UNREACHABLE)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::{shape, spec};

    #[test]
    fn a_broker_outage_cuts_every_messaging_service_and_only_those() {
        let shape = shape();
        let s = spec(json!({"kind": "broker-down"}));
        assert!(s.validate(&shape, &Caps::default()).is_ok());
        let keys: Vec<_> = s
            .changes(&shape)
            .into_iter()
            .map(|c| (c.key, c.value))
            .collect();
        assert_eq!(
            keys,
            [
                ("notifications.broker".to_owned(), json!("unreachable")),
                ("orders.broker".to_owned(), json!("unreachable"))
            ]
        );
        let slow = spec(json!({"kind": "consumer-slow", "service": "notifications", "ms": 250}));
        assert!(slow.validate(&shape, &Caps::default()).is_ok());
        assert_eq!(
            slow.changes(&shape)[0].key,
            "notifications.consumer-slow-ms"
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
            (
                json!({"kind": "consumer-slow", "service": "orders", "ms": 100}),
                "consumes no events",
            ),
            (
                json!({"kind": "poison-message", "service": "notifications"}),
                "publishes no events",
            ),
            (
                json!({"kind": "duplicate-delivery", "service": "cart"}),
                "consumes no events",
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
}
