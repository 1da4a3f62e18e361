//! Drills and their reports (`/api/drills`, `/api/drills/runs`, `/api/drills/runs/{id}`, and
//! the JSON report each run leaves in `.apiary/drills/`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::snapshot::Health;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Running,
    Passed,
    Failed,
    Aborted,
    Stopped,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Running => "running",
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::Aborted => "aborted",
            Verdict::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// A signal's value: a health word or a number.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Reading {
    Health(Health),
    Number(f64),
}

impl std::fmt::Display for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reading::Health(h) => f.write_str(h.word()),
            Reading::Number(n) => write!(f, "{n}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// Milliseconds since the run began.
    pub t_ms: u64,
    pub event: String,
}

/// One scheduled fault as it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultOutcome {
    pub label: String,
    /// The service whose health is watched for this fault.
    #[serde(default)]
    pub watched: Option<String>,
    #[serde(default)]
    pub fault_id: Option<String>,
    /// Milliseconds since the run began.
    #[serde(default)]
    pub on_ms: Option<u64>,
    #[serde(default)]
    pub off_ms: Option<u64>,
    /// Fault on -> the watched service's health not `up` on the dashboard.
    #[serde(default)]
    pub time_to_detect_ms: Option<u64>,
    /// Fault off -> healthy again.
    #[serde(default)]
    pub time_to_recover_ms: Option<u64>,
}

/// SLI values in one phase (worst seen during the fault, last seen otherwise).
pub type Slis = BTreeMap<String, Reading>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Phases {
    pub before: Slis,
    pub during: Slis,
    pub after: Slis,
}

/// A drill run's report: live while it runs, then its JSON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub id: String,
    pub drill: String,
    pub title: String,
    pub verdict: Verdict,
    /// Why it failed (empty when passed).
    #[serde(default)]
    pub reasons: Vec<String>,
    pub time_scale: f64,
    /// Unix milliseconds.
    pub started_at: u64,
    #[serde(default)]
    pub ended_at: Option<u64>,
    pub symptom: String,
    /// First fault on -> the symptom shown by the dashboard.
    #[serde(default)]
    pub time_to_detect_ms: Option<u64>,
    /// Last fault off -> the symptom's service healthy again.
    #[serde(default)]
    pub time_to_recover_ms: Option<u64>,
    #[serde(default)]
    pub faults: Vec<FaultOutcome>,
    #[serde(default)]
    pub slis: Phases,
    #[serde(default)]
    pub timeline: Vec<Event>,
    #[serde(default)]
    pub narrative: String,
    /// The seed of a game day's random schedule (None for a drill file's own schedule).
    #[serde(default)]
    pub game_day_seed: Option<u64>,
    /// The drill's scaling steps (live `apiary scale` mid-run) and what they changed.
    #[serde(default)]
    pub scaling: Vec<ScaleOutcome>,
    /// The error budget each objective lost from the first fault to the end of the run, for
    /// every service and objective that had bad requests in that time.
    #[serde(default)]
    pub budget: Vec<BudgetSpent>,
    /// The probable cause a moment after the symptom appeared, against the injected faults.
    #[serde(default)]
    pub cause: Option<crate::CauseCheck>,
    /// Time to detect, broken down by stage, for the first fault.
    #[serde(default)]
    pub stages: Option<DetectionStages>,
}

/// From the flag change to the UI, stage by stage (milliseconds after the flag changed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct DetectionStages {
    /// In order: flag changed, first affected request served, its span received, the series
    /// crossed the threshold, health changed, the UI showed it.
    pub stages: Vec<Stage>,
    /// The stage that took longest to reach from the one before it.
    pub dominant: Option<String>,
    /// The telemetry pipeline's own share: the affected request's span from its end to the
    /// dashboard (the SDK's batching and the export).
    pub export_ms: Option<u64>,
    /// What the numbers mean, in a line ("the symptom is read from scrapes every 500 ms ...").
    pub note: String,
}

/// One stage: when it was reached (ms after the flag changed), and the step from the stage
/// before it that was reached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Stage {
    pub name: String,
    pub at_ms: Option<u64>,
    pub step_ms: Option<u64>,
    /// Why a stage has no time (the fault touches no request; no browser was open).
    pub note: Option<String>,
}

/// What a drill cost one service level objective.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct BudgetSpent {
    pub service: String,
    /// `availability` or `latency`.
    pub slo: String,
    /// Bad requests (5xx, or slower than the threshold) and all requests in that time.
    pub bad: f64,
    pub requests: f64,
    /// The share of a 30-day error budget spent (the mean burn rate times the time over 30
    /// days, as Prometheus's `apiary:slo_error_budget:remaining30d` counts it).
    pub spent_30d: f64,
}

/// One scaling step of a drill as it happened, with the scaled service's latency and
/// throughput before the faults, under them before the step, and under them after it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ScaleOutcome {
    pub service: String,
    /// Instances before the step (what the drill restores at its end).
    pub from: Option<u64>,
    pub replicas: u64,
    /// Milliseconds since the run began: asked, and every new instance ready.
    pub at_ms: Option<u64>,
    pub done_ms: Option<u64>,
    pub error: Option<String>,
    /// Steady state (no fault yet).
    pub before: ScalePhase,
    /// Faults on, before the step took effect.
    pub during: ScalePhase,
    /// Faults on, from a few seconds after the step until the faults end.
    pub after: ScalePhase,
}

/// The scaled service over one phase: median p99 and mean request rate of its snapshots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ScalePhase {
    pub p99_ms: Option<f64>,
    pub rps: Option<f64>,
    /// Snapshots it is computed from.
    pub samples: u32,
}

impl ScalePhase {
    /// From `(p99 ms, requests/s)` samples.
    pub fn of(samples: &[(Option<f64>, f64)]) -> Self {
        let mut p99: Vec<f64> = samples.iter().filter_map(|s| s.0).collect();
        p99.sort_by(f64::total_cmp);
        let median = (!p99.is_empty()).then(|| {
            let mid = p99.len() / 2;
            if p99.len().is_multiple_of(2) {
                f64::midpoint(p99[mid - 1], p99[mid])
            } else {
                p99[mid]
            }
        });
        let rps = (!samples.is_empty())
            .then(|| samples.iter().map(|s| s.1).sum::<f64>() / samples.len() as f64);
        Self {
            p99_ms: median.map(|v| (v * 10.0).round() / 10.0),
            rps: rps.map(|v| (v * 100.0).round() / 100.0),
            samples: u32::try_from(samples.len()).unwrap_or(u32::MAX),
        }
    }
}

/// One entry of `/api/drills`: a drill file, or why it cannot run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrillInfo {
    pub name: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub max_duration_s: Option<f64>,
    /// The symptom the dashboard must show, in words (`payment p95_ms above 500`).
    #[serde(default)]
    pub symptom: Option<String>,
    /// What is wrong with the file (empty when it can run).
    #[serde(default)]
    pub problems: Vec<String>,
}

/// `/api/drills`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Drills {
    pub drills: Vec<DrillInfo>,
    /// The directory the drills were read from.
    #[serde(default)]
    pub dir: String,
}

/// One entry of `/api/drills/runs`: a report's headline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunInfo {
    pub id: String,
    pub drill: String,
    pub title: String,
    pub verdict: Verdict,
    pub started_at: u64,
    #[serde(default)]
    pub ended_at: Option<u64>,
    #[serde(default)]
    pub time_to_detect_ms: Option<u64>,
    #[serde(default)]
    pub time_to_recover_ms: Option<u64>,
    #[serde(default)]
    pub reasons: Vec<String>,
}

impl From<&Report> for RunInfo {
    fn from(r: &Report) -> Self {
        Self {
            id: r.id.clone(),
            drill: r.drill.clone(),
            title: r.title.clone(),
            verdict: r.verdict,
            started_at: r.started_at,
            ended_at: r.ended_at,
            time_to_detect_ms: r.time_to_detect_ms,
            time_to_recover_ms: r.time_to_recover_ms,
            reasons: r.reasons.clone(),
        }
    }
}

/// `/api/drills/runs`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Runs {
    pub runs: Vec<RunInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_words_or_numbers() {
        let slis: Slis =
            serde_json::from_str(r#"{"payment.health": "degraded", "shop.conversion": 0.25}"#)
                .expect("reads");
        assert_eq!(slis["payment.health"], Reading::Health(Health::Degraded));
        assert_eq!(slis["shop.conversion"], Reading::Number(0.25));
        assert_eq!(slis["payment.health"].to_string(), "degraded");
        assert_eq!(
            serde_json::to_string(&Reading::Number(3.0)).expect("json"),
            "3.0"
        );
    }

    #[test]
    fn a_scale_phase_is_the_median_p99_and_the_mean_rate() {
        let phase = ScalePhase::of(&[
            (Some(30.0), 10.0),
            (None, 20.0),
            (Some(10.0), 30.0),
            (Some(20.0), 40.0),
        ]);
        assert_eq!(phase.p99_ms, Some(20.0), "median of 10, 20, 30");
        assert_eq!(phase.rps, Some(25.0), "every sample's rate counts");
        assert_eq!(phase.samples, 4);
        let even = ScalePhase::of(&[(Some(10.0), 1.0), (Some(20.0), 1.0)]);
        assert_eq!(even.p99_ms, Some(15.0));
        assert_eq!(ScalePhase::of(&[]), ScalePhase::default());
    }

    #[test]
    fn a_run_headline_is_its_report_s() {
        let report = Report {
            id: "r1".into(),
            drill: "payment-slowdown".into(),
            title: "Payment slows down".into(),
            verdict: Verdict::Passed,
            reasons: vec![],
            time_scale: 0.25,
            started_at: 1,
            ended_at: Some(2),
            symptom: "payment p95_ms above 500".into(),
            time_to_detect_ms: Some(1400),
            time_to_recover_ms: Some(2100),
            faults: vec![],
            slis: Phases::default(),
            timeline: vec![],
            narrative: String::new(),
            game_day_seed: None,
            scaling: vec![],
            budget: vec![],
            cause: None,
            stages: None,
        };
        let run = RunInfo::from(&report);
        assert_eq!(run.verdict.word(), "passed");
        assert_eq!(run.time_to_detect_ms, Some(1400));
        assert_eq!(
            serde_json::to_value(&run).expect("json")["verdict"],
            "passed"
        );
    }
}
