//! Drill files (`drills/*.toml`): what a trainer runs. A drill has a narrative, a steady-state
//! hypothesis, a fault schedule, the symptom the dashboard must show, how fast it must recover,
//! an abort guard on a business SLI, and a maximum duration.

use std::collections::BTreeMap;
use std::path::Path;

use apiary_faults::{Caps, FaultSpec, Shape};
use serde::{Deserialize, Serialize};

use crate::monitor::{Health, Snapshot};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drill {
    pub title: String,
    /// One line for listings.
    pub summary: String,
    /// For the trainer: what to show, what to ask the room.
    pub narrative: String,
    /// The whole run may not take longer (seconds; scaled with the run's time scale).
    pub max_duration_s: f64,
    pub steady_state: SteadyState,
    pub faults: Vec<ScheduledFault>,
    pub symptom: Symptom,
    pub recovery: Recovery,
    /// Roll back at once when any of these holds (a business SLI breaching a hard floor).
    #[serde(default)]
    pub abort: Vec<Condition>,
    /// Live scaling mid-run (`[[scale]]`): the stack's launcher runs `replicas` instances of
    /// `service` at `at_s`; the drill restores the earlier count when it ends.
    #[serde(default)]
    pub scale: Vec<ScaleStep>,
}

/// One scaling step of a drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleStep {
    /// Seconds after the steady state ends (scaled with the run's time scale, like faults).
    pub at_s: f64,
    pub service: String,
    pub replicas: u64,
}

/// The hypothesis: these hold before the fault (checked for `duration_s` of steady state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SteadyState {
    pub duration_s: f64,
    pub slis: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFault {
    /// Seconds after the steady state ends.
    pub at_s: f64,
    pub duration_s: f64,
    pub fault: FaultSpec,
}

/// What the dashboard must show (`{service, signal, threshold}` as in [`Condition`]), and how
/// soon after the first fault begins (`within_s`, real seconds, not scaled).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Symptom {
    #[serde(flatten)]
    pub condition: Condition,
    pub within_s: f64,
}

impl<'de> Deserialize<'de> for Symptom {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        // `within_s` beside the condition's own fields, each checked strictly.
        let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let within_s = map
            .remove("within_s")
            .and_then(|v| v.as_f64())
            .ok_or_else(|| D::Error::custom("symptom.within_s (seconds) is required"))?;
        let condition =
            Condition::deserialize(serde_json::Value::Object(map)).map_err(D::Error::custom)?;
        Ok(Self {
            condition,
            within_s,
        })
    }
}

/// How soon after the last fault ends the symptom's service must be healthy again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recovery {
    pub within_s: f64,
}

/// What can be watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// A service's health (`is` / `is_not`).
    Health,
    /// A service's 5xx share, 0..1.
    ErrorRate,
    P95Ms,
    Rps,
    MemoryMib,
    OrdersPerMin,
    /// Completed / started checkouts, 0..1.
    Conversion,
    OrdersFailedPerMin,
    CartsLostPerMin,
    PaymentFailuresPerMin,
    StockoutsPerMin,
    /// Messages waiting in the queues a service consumes (the broker's count).
    QueueDepth,
    /// Messages in the dead-letter queues of the queues a service consumes.
    DeadLetters,
    /// How fast those dead-letter queues grow, messages a minute.
    DeadLettersPerMin,
    /// Mean publish-to-processed seconds of a consumer.
    ConsumerLagS,
    /// Events waiting in every producer's outbox.
    OutboxBacklog,
    /// Orders placed and not shipped yet.
    AwaitingFulfilment,
}

impl Signal {
    pub fn per_service(self) -> bool {
        matches!(
            self,
            Signal::Health
                | Signal::ErrorRate
                | Signal::P95Ms
                | Signal::Rps
                | Signal::MemoryMib
                | Signal::QueueDepth
                | Signal::DeadLetters
                | Signal::DeadLettersPerMin
                | Signal::ConsumerLagS
        )
    }
}

/// One SLI with a threshold: `{service, signal, above | below | is | is_not | times_baseline}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub signal: Signal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is: Option<Health>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_not: Option<Health>,
    /// Holds when the value is at least this many times its value at the end of steady state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times_baseline: Option<f64>,
}

/// A signal's value now.
pub use dashboard_api::Reading;

/// A condition a drill cannot be judged by, and why (a drill's listed problems say it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{condition}: {problem}")]
pub struct InvalidCondition {
    /// The condition as [`Condition::describe`] words it.
    pub condition: String,
    pub problem: ConditionProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionProblem {
    #[error("this signal needs a service")]
    NeedsService,
    #[error("a shop-wide signal takes no service ({0})")]
    ShopWide(String),
    #[error("unknown service {0}")]
    UnknownService(String),
    #[error("give exactly one of above, below, is, is_not, times_baseline")]
    Thresholds,
    #[error("health takes is / is_not; numbers take above / below / times_baseline")]
    ThresholdKind,
}

impl Condition {
    /// `payment p95_ms above 500`, for reports.
    pub fn describe(&self) -> String {
        let who = self.service.as_deref().unwrap_or("shop");
        let signal = serde_json::to_value(self.signal)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut parts = vec![format!("{who} {signal}")];
        let h = |h: &Health| {
            serde_json::to_value(h)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        if let Some(v) = self.above {
            parts.push(format!("above {v}"));
        }
        if let Some(v) = self.below {
            parts.push(format!("below {v}"));
        }
        if let Some(v) = &self.is {
            parts.push(format!("is {}", h(v)));
        }
        if let Some(v) = &self.is_not {
            parts.push(format!("is not {}", h(v)));
        }
        if let Some(v) = self.times_baseline {
            parts.push(format!("at least {v}x its steady value"));
        }
        parts.join(" ")
    }

    fn check(&self, shape: &Shape) -> Result<(), InvalidCondition> {
        let problem = |problem| InvalidCondition {
            condition: self.describe(),
            problem,
        };
        match (&self.service, self.signal.per_service()) {
            (None, true) => return Err(problem(ConditionProblem::NeedsService)),
            (Some(s), false) => return Err(problem(ConditionProblem::ShopWide(s.clone()))),
            (Some(s), true) if !shape.services.contains_key(s) => {
                return Err(problem(ConditionProblem::UnknownService(s.clone())));
            }
            _ => {}
        }
        let thresholds = [
            self.above.is_some(),
            self.below.is_some(),
            self.is.is_some(),
            self.is_not.is_some(),
            self.times_baseline.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if thresholds != 1 {
            return Err(problem(ConditionProblem::Thresholds));
        }
        let health = self.signal == Signal::Health;
        if health != (self.is.is_some() || self.is_not.is_some()) {
            return Err(problem(ConditionProblem::ThresholdKind));
        }
        Ok(())
    }

    /// The signal's value in `snap` (None when the service or value is not there yet).
    pub fn read(&self, snap: &Snapshot) -> Option<Reading> {
        let b = &snap.business;
        if self.signal.per_service() {
            let name = self.service.as_deref()?;
            let queues = || snap.messaging.consumed_by(name);
            match self.signal {
                Signal::QueueDepth => {
                    return queues()
                        .map(|q| q.depth)
                        .sum::<Option<f64>>()
                        .map(Reading::Number);
                }
                Signal::DeadLetters => {
                    return queues()
                        .map(|q| q.dead_letters)
                        .sum::<Option<f64>>()
                        .map(Reading::Number);
                }
                Signal::DeadLettersPerMin => {
                    return queues()
                        .map(|q| q.dead_letters_per_min)
                        .sum::<Option<f64>>()
                        .map(Reading::Number);
                }
                Signal::ConsumerLagS => {
                    return queues()
                        .filter_map(|q| q.lag_s)
                        .reduce(f64::max)
                        .map(Reading::Number);
                }
                _ => {}
            }
            let s = snap.services.iter().find(|s| s.name == name)?;
            return Some(match self.signal {
                Signal::Health => Reading::Health(s.health),
                Signal::ErrorRate => Reading::Number(s.error_rate),
                Signal::P95Ms => Reading::Number(s.latency_ms.p95?),
                Signal::Rps => Reading::Number(s.rps),
                _ => Reading::Number(s.memory_mib?),
            });
        }
        Some(Reading::Number(match self.signal {
            Signal::OrdersPerMin => b.orders_per_min,
            Signal::Conversion => b.conversion?,
            Signal::OrdersFailedPerMin => b.orders_failed_per_min,
            Signal::CartsLostPerMin => b.carts_lost_per_min,
            Signal::PaymentFailuresPerMin => b.payment_failures_per_min.values().sum(),
            Signal::OutboxBacklog => snap.messaging.outbox_backlog.values().sum(),
            Signal::AwaitingFulfilment => b.awaiting_fulfilment?,
            _ => b.stockouts_per_min,
        }))
    }

    /// Whether the condition holds for `reading`; `baseline` is the steady-state value.
    pub fn holds(&self, reading: Option<Reading>, baseline: Option<Reading>) -> bool {
        match reading {
            Some(Reading::Health(h)) => {
                self.is.is_some_and(|x| x == h) || self.is_not.is_some_and(|x| x != h)
            }
            Some(Reading::Number(v)) => {
                self.above.is_some_and(|t| v > t)
                    || self.below.is_some_and(|t| v < t)
                    || match (self.times_baseline, baseline) {
                        (Some(x), Some(Reading::Number(base))) => base > 0.0 && v >= base * x,
                        _ => false,
                    }
            }
            None => false,
        }
    }
}

impl Drill {
    /// Everything wrong with the drill for this stack, as readable lines.
    pub fn problems(&self, shape: &Shape, caps: &Caps) -> Vec<String> {
        let mut out = Vec::new();
        if self.title.trim().is_empty() || self.narrative.trim().len() < 40 {
            out.push("a title and a narrative of at least a few sentences are required".into());
        }
        if self.faults.is_empty() {
            out.push("the schedule has no fault".into());
        }
        let mut end: f64 = 0.0;
        for (i, f) in self.faults.iter().enumerate() {
            if let Err(e) = f.fault.validate(shape, caps) {
                out.push(format!("faults[{i}]: {e}"));
            }
            if !(f.at_s >= 0.0 && f.duration_s > 0.0) {
                out.push(format!(
                    "faults[{i}]: at_s >= 0 and duration_s > 0 are required"
                ));
            }
            end = end.max(f.at_s + f.duration_s);
        }
        for (i, step) in self.scale.iter().enumerate() {
            if !shape.services.contains_key(&step.service) {
                out.push(format!("scale[{i}]: unknown service '{}'", step.service));
            }
            let max = apiary_manifest::MAX_REPLICAS as u64;
            if !(1..=max).contains(&step.replicas) {
                out.push(format!("scale[{i}]: replicas must be between 1 and {max}"));
            }
            if !(step.at_s >= 0.0 && step.at_s <= end) {
                out.push(format!(
                    "scale[{i}]: at_s must fall within the fault schedule (0 to {end} s)"
                ));
            }
        }
        if self.steady_state.duration_s.is_nan() || self.steady_state.duration_s <= 0.0 {
            out.push("steady_state.duration_s must be positive".into());
        }
        if self.steady_state.slis.is_empty() {
            out.push("the steady-state hypothesis needs at least one SLI".into());
        }
        for c in self
            .steady_state
            .slis
            .iter()
            .chain(std::iter::once(&self.symptom.condition))
            .chain(&self.abort)
        {
            if let Err(e) = c.check(shape) {
                out.push(e.to_string());
            }
        }
        if self.symptom.condition.service.is_none() && self.symptom.condition.signal.per_service() {
            out.push("the symptom needs a service".into());
        }
        if !(self.symptom.within_s > 0.0 && self.recovery.within_s > 0.0) {
            out.push("symptom.within_s and recovery.within_s must be positive".into());
        }
        if self.max_duration_s < self.steady_state.duration_s + end {
            out.push(format!(
                "max_duration_s {} is shorter than steady state + schedule ({})",
                self.max_duration_s,
                self.steady_state.duration_s + end
            ));
        }
        out
    }
}

/// A drill file as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub name: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drill: Option<Drill>,
    /// Why the file cannot run (parse errors, faults this stack cannot take); empty when fine.
    pub problems: Vec<String>,
}

/// Every `*.toml` in `dir`, by name (file stem), each parsed and checked.
pub fn load_dir(dir: &Path, shape: &Shape, caps: &Caps) -> BTreeMap<String, Listed> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        let listed = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| toml::from_str::<Drill>(&t).map_err(|e| e.to_string()))
        {
            Ok(drill) => Listed {
                problems: drill.problems(shape, caps),
                drill: Some(drill),
                name: name.clone(),
                path: path.display().to_string(),
            },
            Err(e) => Listed {
                name: name.clone(),
                path: path.display().to_string(),
                drill: None,
                problems: vec![e],
            },
        };
        out.insert(name, listed);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack() -> (Shape, Caps) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let m = apiary_manifest::Manifest::load(&root.join("apiary.toml")).expect("apiary.toml");
        (m.fault_shape(), m.fault_caps())
    }

    #[test]
    fn every_shipped_drill_is_complete_and_fits_the_stack() {
        let (shape, caps) = stack();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../drills");
        let drills = load_dir(&dir, &shape, &caps);
        assert!(
            drills.len() >= 8,
            "at least 8 drills ship, found {}",
            drills.len()
        );
        for (name, l) in &drills {
            assert!(l.problems.is_empty(), "{name}: {:?}", l.problems);
            let d = l.drill.as_ref().expect("parsed");
            assert!(
                !d.abort.is_empty(),
                "{name}: every drill has an abort guard"
            );
        }
        for expected in [
            "payment-slowdown",
            "payment-outage",
            "inventory-store-slow",
            "cart-store-lost",
            "recommendations-memory-leak",
            "catalog-bad-deploy",
            "checkout-payment-partition",
            "black-friday-spike",
        ] {
            assert!(drills.contains_key(expected), "{expected} ships");
        }
    }

    #[test]
    fn broken_drills_are_reported_not_run() {
        let (shape, caps) = stack();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("garbage.toml"), "title = 3").expect("write");
        std::fs::write(
            dir.path().join("wrong.toml"),
            r#"
title = "x"
summary = "x"
narrative = "short"
max_duration_s = 5
[steady_state]
duration_s = 10
slis = [{ service = "nope", signal = "health", is = "up" }]
[[faults]]
at_s = 0
duration_s = 10
fault = { kind = "slow-store", service = "catalog", ms = 100 }
[symptom]
signal = "health"
is_not = "up"
within_s = 10
[recovery]
within_s = 10
"#,
        )
        .expect("write");
        let drills = load_dir(dir.path(), &shape, &caps);
        assert!(!drills["garbage"].problems.is_empty());
        let p = drills["wrong"].problems.join(" | ");
        for why in [
            "narrative",
            "no data store",
            "unknown service nope",
            "needs a service",
            "max_duration_s",
        ] {
            assert!(p.contains(why), "{why} missing in {p}");
        }
    }

    #[test]
    fn conditions_read_and_judge_snapshots() {
        let c: Condition =
            toml::from_str("service = \"payment\"\nsignal = \"rps\"\ntimes_baseline = 3")
                .expect("parses");
        assert!(c.holds(Some(Reading::Number(9.0)), Some(Reading::Number(3.0))));
        assert!(!c.holds(Some(Reading::Number(8.9)), Some(Reading::Number(3.0))));
        assert!(
            !c.holds(None, Some(Reading::Number(3.0))),
            "no data never holds"
        );
        let h: Condition =
            toml::from_str("service = \"payment\"\nsignal = \"health\"\nis_not = \"up\"")
                .expect("parses");
        assert!(h.holds(Some(Reading::Health(Health::Degraded)), None));
        assert!(!h.holds(Some(Reading::Health(Health::Up)), None));
    }
}
