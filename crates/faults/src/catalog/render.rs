//! Active faults into a flag file: each change adds the variant its value needs and makes it
//! the default or the targeting's answer, and arms the services it touches.

use serde_json::{Value, json};

use super::knobs::{Shape, flag_key, knob};
use super::spec::{FaultSpec, FlagChange, Scope};
use crate::flagd::{FlagSet, Unit, canonical_label};

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
    use crate::catalog::base_flags;
    use crate::catalog::spec::Caps;
    use crate::catalog::testing::{shape, spec};
    use crate::flagd::label_mismatches;

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
