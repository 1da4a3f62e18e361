//! The base flag file: every flag of the stack at its harmless default, and the helpers that
//! build one flag definition (numeric presets, text values, on/off switches).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::knobs::{CURRENT_VERSION, PAYMENT, Shape, StoreKind, flag_key, knob, link, link_key};
use crate::flagd::{Flag, FlagSet, SCHEMA, Unit, canonical_label};

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
        if svc.consumes {
            add(
                knob::CONSUMER_SLOW_MS,
                numeric(
                    Unit::Millis,
                    "time the consumer spends per message before handling it",
                    &[50.0, 250.0, 1000.0],
                ),
            );
            add(
                knob::CONSUMER_CRASH,
                numeric(
                    Unit::Percent,
                    "share of deliveries on which the consumer crashes (nacked back, restarted)",
                    &[10.0, 50.0, 100.0],
                ),
            );
            add(
                knob::DUPLICATE,
                numeric(
                    Unit::Percent,
                    "share of processed deliveries handed back to be delivered again",
                    &[10.0, 50.0, 100.0],
                ),
            );
        }
        if svc.publishes {
            add(
                knob::POISON,
                numeric(
                    Unit::Percent,
                    "share of published events followed by a malformed one",
                    &[5.0, 25.0, 100.0],
                ),
            );
        }
        if svc.publishes || svc.consumes {
            add(
                knob::BROKER,
                texts(
                    Unit::Text,
                    "how this service reaches the message broker",
                    &[link::OK, link::UNREACHABLE],
                    link::OK,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testing::shape;
    use crate::flagd::label_mismatches;

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
        assert!(base.flags.contains_key("notifications.consumer-slow-ms"));
        assert!(base.flags.contains_key("notifications.broker"));
        assert!(
            !base.flags.contains_key("orders.consumer-slow-ms"),
            "publishes only"
        );
        assert!(base.flags.contains_key("orders.poison-percent"));
        assert!(
            !base.flags.contains_key("catalog.broker"),
            "no messaging, no knob"
        );
    }
}
