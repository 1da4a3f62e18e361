//! Running a drill against the live stack: steady state, the fault schedule, the symptom the
//! dashboard must show, recovery, the abort guard — timed from the dashboard's own snapshots,
//! so "detected" means "the dashboard showed it". Every run leaves a JSON report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_faults::FaultSpec;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use tokio::sync::watch;

use super::drill::{Condition, Drill, Reading, ScheduledFault, Signal};
use super::faults::{FaultRequest, Faults};
pub use super::stages::Sight;
use super::stages::StageTracker;
use crate::monitor::{FaultWindow, Health, Snapshot, now_ms};

/// How often the runner looks at the dashboard's snapshot.
const TICK: Duration = Duration::from_millis(100);

pub use dashboard_api::{
    Event, FaultOutcome, Phases, Report, ScaleOutcome, ScalePhase, Slis, Verdict,
};

/// The SLIs a report records: the symptom's service RED and health, and the shop's KPIs.
fn sli_conditions(drill: &Drill) -> Vec<(String, Condition)> {
    let mut out = Vec::new();
    // A drill about the asynchronous half also records its queues and outboxes.
    let messaging = drill.faults.iter().any(|f| {
        matches!(
            f.fault,
            FaultSpec::ConsumerSlow { .. }
                | FaultSpec::ConsumerCrash { .. }
                | FaultSpec::PoisonMessage { .. }
                | FaultSpec::BrokerDown {}
                | FaultSpec::DuplicateDelivery { .. }
        )
    }) || matches!(
        drill.symptom.condition.signal,
        Signal::QueueDepth
            | Signal::DeadLetters
            | Signal::DeadLettersPerMin
            | Signal::ConsumerLagS
            | Signal::OutboxBacklog
            | Signal::AwaitingFulfilment
    );
    let service = drill.symptom.condition.service.clone().or_else(|| {
        drill
            .faults
            .first()
            .and_then(|f| f.fault.services().first().cloned())
    });
    let c = |service: Option<String>, signal| Condition {
        service,
        signal,
        above: None,
        below: None,
        is: None,
        is_not: None,
        times_baseline: None,
    };
    if let Some(s) = service {
        for (name, signal) in [
            ("health", Signal::Health),
            ("error_rate", Signal::ErrorRate),
            ("p95_ms", Signal::P95Ms),
            ("rps", Signal::Rps),
            ("memory_mib", Signal::MemoryMib),
        ] {
            out.push((format!("{s}.{name}"), c(Some(s.clone()), signal)));
        }
        if messaging {
            for (name, signal) in [
                ("queue_depth", Signal::QueueDepth),
                ("dead_letters", Signal::DeadLetters),
                ("dead_letters_per_min", Signal::DeadLettersPerMin),
                ("consumer_lag_s", Signal::ConsumerLagS),
            ] {
                out.push((format!("{s}.{name}"), c(Some(s.clone()), signal)));
            }
        }
    }
    if messaging {
        for (name, signal) in [
            ("outbox_backlog", Signal::OutboxBacklog),
            ("awaiting_fulfilment", Signal::AwaitingFulfilment),
        ] {
            out.push((format!("shop.{name}"), c(None, signal)));
        }
    }
    for (name, signal) in [
        ("orders_per_min", Signal::OrdersPerMin),
        ("conversion", Signal::Conversion),
        ("orders_failed_per_min", Signal::OrdersFailedPerMin),
        ("carts_lost_per_min", Signal::CartsLostPerMin),
    ] {
        out.push((format!("shop.{name}"), c(None, signal)));
    }
    out
}

fn worse(a: Reading, b: Reading, name: &str) -> Reading {
    let rank = |h: Health| match h {
        Health::Up => 0,
        Health::Unknown => 1,
        Health::Degraded => 2,
        Health::Down => 3,
    };
    match (a, b) {
        (Reading::Health(x), Reading::Health(y)) => {
            Reading::Health(if rank(y) > rank(x) { y } else { x })
        }
        (Reading::Number(x), Reading::Number(y)) => {
            // Lower is worse for throughput and conversion, higher for everything else.
            let lower_is_worse = name.ends_with("orders_per_min") && !name.contains("failed")
                || name.ends_with("conversion")
                || name.ends_with(".rps");
            Reading::Number(if lower_is_worse { x.min(y) } else { x.max(y) })
        }
        (_, b) => b,
    }
}

/// A run in progress: its live report and a stop switch.
#[derive(Debug)]
pub struct RunHandle {
    pub report: watch::Receiver<Report>,
    pub stop: watch::Sender<bool>,
}

struct Run {
    faults: Arc<Faults>,
    /// The launcher (live scaling), when one runs the stack.
    launcher: Option<super::scale::LauncherClient>,
    /// Per scaling step: its call in flight, and `(p99, rps)` samples of each phase.
    scaling: Vec<ScaleTrack>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    report: Report,
    tx: watch::Sender<Report>,
    stop: watch::Receiver<bool>,
    begun: Instant,
    drill: Drill,
    actor: String,
    /// Every objective's running totals when the faults began (the budget the drill spends).
    budget_from: Option<(Instant, Arc<Snapshot>)>,
    /// Where the time-to-detect stages are read from, and the first fault's stages.
    sight: Option<Sight>,
    stages: Option<StageTracker>,
}

/// What the runner keeps of one scaling step while it runs.
#[derive(Default)]
struct ScaleTrack {
    call: Option<tokio::task::JoinHandle<Result<serde_json::Value, super::scale::ScaleError>>>,
    done: Option<Instant>,
    before: Vec<(Option<f64>, f64)>,
    during: Vec<(Option<f64>, f64)>,
    after: Vec<(Option<f64>, f64)>,
}

/// Phases of a run, for the scaling steps' samples.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Steady,
    Faulted,
}

/// The probable cause is read this long after the symptom appears (or later, when the
/// dashboard names one, while the faults are on).
const CAUSE_AFTER: Duration = Duration::from_secs(2);

/// Instances after a step settle this long before "after" samples count.
const SCALE_SETTLE: Duration = Duration::from_secs(3);

impl Run {
    /// One `(p99, rps)` sample of every scaled service, into its step's current phase.
    fn sample_scaling(&mut self, phase: Phase) {
        let snap = self.snap();
        for (i, step) in self.drill.scale.iter().enumerate() {
            let Some(view) = snap.services.iter().find(|s| s.name == step.service) else {
                continue;
            };
            let sample = (view.latency_ms.p99, view.rps);
            let track = &mut self.scaling[i];
            match (phase, track.done) {
                (Phase::Steady, _) => track.before.push(sample),
                (Phase::Faulted, None) => track.during.push(sample),
                (Phase::Faulted, Some(at)) if at.elapsed() >= SCALE_SETTLE => {
                    track.after.push(sample);
                }
                (Phase::Faulted, Some(_)) => {}
            }
        }
    }

    /// Asks the launcher for the steps that are due (in the background: a new instance takes
    /// seconds to be ready), and notes the ones that finished. `Err`: a step failed.
    async fn run_scaling(&mut self, elapsed: Duration, scale: f64) -> Result<(), String> {
        for i in 0..self.drill.scale.len() {
            let step = self.drill.scale[i].clone();
            let due = elapsed >= Duration::from_secs_f64((step.at_s * scale).max(0.0));
            if due && self.report.scaling[i].at_ms.is_none() {
                let Some(launcher) = self.launcher.clone() else {
                    return Err("this drill scales services, which needs the launcher running the stack (apiary up)".into());
                };
                self.report.scaling[i].at_ms = Some(self.t_ms());
                self.log(format!(
                    "scaling {} to {} instance(s)",
                    step.service, step.replicas
                ));
                let service = step.service.clone();
                self.scaling[i].call = Some(tokio::spawn(async move {
                    launcher.scale(&service, step.replicas).await
                }));
            }
            let finished = self.scaling[i]
                .call
                .as_ref()
                .is_some_and(tokio::task::JoinHandle::is_finished);
            if !finished {
                continue;
            }
            let Some(call) = self.scaling[i].call.take() else {
                continue;
            };
            let outcome = call
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            let t = self.t_ms();
            match outcome {
                Ok(_) => {
                    self.scaling[i].done = Some(Instant::now());
                    self.report.scaling[i].done_ms = Some(t);
                    let took = t.saturating_sub(self.report.scaling[i].at_ms.unwrap_or(t));
                    self.log(format!(
                        "{} runs {} instance(s) ({took} ms to scale)",
                        step.service, step.replicas
                    ));
                }
                Err(e) => {
                    self.report.scaling[i].error = Some(e.clone());
                    return Err(format!("scaling {} failed: {e}", step.service));
                }
            }
        }
        Ok(())
    }

    /// The instance counts before any step (what the drill restores).
    async fn note_scaling_start(&mut self) {
        let Some(launcher) = self.launcher.clone() else {
            return;
        };
        if self.drill.scale.is_empty() {
            return;
        }
        if let Ok(v) = launcher.instances().await {
            for out in &mut self.report.scaling {
                out.from = v["services"].as_array().and_then(|a| {
                    a.iter()
                        .find(|g| g["service"] == out.service.as_str())
                        .and_then(|g| g["replicas"].as_u64())
                });
            }
        }
    }

    /// Puts every scaled service back to its count before the drill; fills the phases.
    async fn restore_scaling(&mut self) {
        for (i, track) in self.scaling.iter_mut().enumerate() {
            if let Some(call) = track.call.take() {
                let _ = call.await;
            }
            let out = &mut self.report.scaling[i];
            out.before = ScalePhase::of(&track.before);
            out.during = ScalePhase::of(&track.during);
            out.after = ScalePhase::of(&track.after);
        }
        let Some(launcher) = self.launcher.clone() else {
            return;
        };
        let mut restore: Vec<(String, u64)> = Vec::new();
        for out in &self.report.scaling {
            if let (Some(from), Some(_)) = (out.from, out.at_ms)
                && !restore.iter().any(|(s, _)| s == &out.service)
            {
                restore.push((out.service.clone(), from));
            }
        }
        for (service, from) in restore {
            match launcher.scale(&service, from).await {
                Ok(_) => self.log(format!("{service} back to {from} instance(s)")),
                Err(e) => {
                    let why = format!("restoring {service} to {from} instance(s): {e}");
                    self.report.reasons.push(why.clone());
                    self.log(why);
                }
            }
        }
    }

    fn t_ms(&self) -> u64 {
        self.begun.elapsed().as_millis() as u64
    }

    fn log(&mut self, event: impl Into<String>) {
        let event = event.into();
        tracing::info!(drill = %self.report.drill, run = %self.report.id, "{event}");
        self.report.timeline.push(Event {
            t_ms: self.t_ms(),
            event,
        });
        let _ = self.tx.send(self.report.clone());
    }

    /// Per-fault detection and recovery, on the watched service's health.
    fn track_faults(&mut self, snap: &Snapshot) {
        let now = self.t_ms();
        for out in &mut self.report.faults {
            let Some(watched) = out.watched.as_deref() else {
                continue;
            };
            let health = snap
                .services
                .iter()
                .find(|s| s.name == watched)
                .map(|s| s.health);
            if let (Some(on_ms), None) = (out.on_ms, out.time_to_detect_ms)
                && health.is_some_and(|h| h != Health::Up)
            {
                out.time_to_detect_ms = Some(now - on_ms);
            }
            if let (Some(off_ms), Some(_), None) =
                (out.off_ms, out.time_to_detect_ms, out.time_to_recover_ms)
                && health == Some(Health::Up)
            {
                out.time_to_recover_ms = Some(now.saturating_sub(off_ms));
            }
        }
    }

    fn snap(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    async fn tick(&mut self) {
        let _ = tokio::time::timeout(TICK, self.stop.changed()).await;
    }

    fn sample(&self, conditions: &[(String, Condition)]) -> Slis {
        let snap = self.snap();
        conditions
            .iter()
            .filter_map(|(name, c)| c.read(&snap).map(|r| (name.clone(), r)))
            .collect()
    }

    async fn finish(mut self, verdict: Verdict, reason: Option<String>) -> Report {
        if let Err(e) = self.faults.reset(&self.actor, Some(&self.report.id)).await {
            self.report.reasons.push(format!("rolling back: {e}"));
        }
        self.restore_scaling().await;
        if let Some(tracker) = self.stages.take() {
            self.report.stages = Some(tracker.finish());
        }
        if let Some((since, from)) = &self.budget_from {
            self.report.budget = budget_spent(from, &self.snap(), since.elapsed().as_secs_f64());
        }
        if let Some(r) = reason {
            self.report.reasons.push(r);
        }
        self.report.verdict = if verdict == Verdict::Passed && !self.report.reasons.is_empty() {
            Verdict::Failed
        } else {
            verdict
        };
        self.report.ended_at = Some(now_ms());
        let v = self.report.verdict;
        self.log(format!("drill ended: {v:?}").to_lowercase());
        self.report.clone()
    }
}

/// The error budget every objective lost between two snapshots `secs` apart: the change of
/// its running totals (services with no bad requests in that time are left out).
fn budget_spent(from: &Snapshot, to: &Snapshot, secs: f64) -> Vec<dashboard_api::BudgetSpent> {
    let mut out = Vec::new();
    for service in &to.services {
        let before = from.services.iter().find(|s| s.name == service.name);
        for slo in &service.slos {
            let (requests0, bad0) = before
                .and_then(|b| b.slos.iter().find(|x| x.slo == slo.slo))
                .map_or((0.0, 0.0), |x| (x.requests_total, x.bad_total));
            let requests = (slo.requests_total - requests0).max(0.0);
            let bad = (slo.bad_total - bad0).max(0.0);
            if bad <= 0.0 {
                continue;
            }
            if let Some(spent) =
                crate::monitor::budget_spent_30d(bad, requests, secs, slo.objective)
            {
                out.push(dashboard_api::BudgetSpent {
                    service: service.name.clone(),
                    slo: slo.slo.clone(),
                    bad,
                    requests,
                    spent_30d: (spent * 1e6).round() / 1e6,
                });
            }
        }
    }
    out.sort_by(|a, b| b.spent_30d.total_cmp(&a.spent_30d));
    out
}

/// Builds a game-day drill: random faults from `allowed`, at random intervals and durations
/// within the ranges, from `seed` (the same seed gives the same schedule).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameDay {
    pub seed: u64,
    pub duration_s: f64,
    /// Gap between one fault's start and the next's, [min, max] seconds.
    pub interval_s: [f64; 2],
    /// Each fault's duration, [min, max] seconds.
    pub fault_duration_s: [f64; 2],
    /// The faults to pick from.
    pub allowed: Vec<FaultSpec>,
}

/// Game-day times (duration, intervals, fault durations) are within these, in seconds.
pub const GAME_DAY_MIN_S: f64 = 1.0;
pub const GAME_DAY_MAX_S: f64 = 3600.0;
/// Faults a game day may pick from at most.
pub const GAME_DAY_MAX_ALLOWED: usize = 32;

/// A game day's parameters out of their ranges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadGameDay {
    #[error(
        "interval_s and fault_duration_s are [min, max] seconds with \
         {GAME_DAY_MIN_S} <= min <= max <= {GAME_DAY_MAX_S}"
    )]
    Ranges,
    #[error("duration_s must be {GAME_DAY_MIN_S} to {GAME_DAY_MAX_S} seconds")]
    Duration,
    #[error("give 1 to {GAME_DAY_MAX_ALLOWED} allowed faults")]
    Allowed,
}

impl GameDay {
    pub fn drill(&self) -> Result<Drill, BadGameDay> {
        // Sane ranges: a game day is for people watching a dashboard, so every time is whole
        // seconds to an hour, and the schedule stays short enough to read.
        let seconds = |v: f64| (GAME_DAY_MIN_S..=GAME_DAY_MAX_S).contains(&v);
        let ok = |r: [f64; 2]| seconds(r[0]) && seconds(r[1]) && r[0] <= r[1];
        if !(ok(self.interval_s) && ok(self.fault_duration_s)) {
            return Err(BadGameDay::Ranges);
        }
        if !seconds(self.duration_s) {
            return Err(BadGameDay::Duration);
        }
        if self.allowed.is_empty() || self.allowed.len() > GAME_DAY_MAX_ALLOWED {
            return Err(BadGameDay::Allowed);
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
        let mut faults = Vec::new();
        let mut at = 0.0;
        while at < self.duration_s && faults.len() < 100 {
            let spec = self.allowed[rng.random_range(0..self.allowed.len())].clone();
            let d = rng.random_range(self.fault_duration_s[0]..=self.fault_duration_s[1]);
            faults.push(ScheduledFault {
                at_s: (at * 10.0_f64).round() / 10.0,
                duration_s: (d.min(self.duration_s - at) * 10.0).round() / 10.0,
                fault: spec,
            });
            at += rng.random_range(self.interval_s[0]..=self.interval_s[1]);
        }
        let first = faults
            .first()
            .and_then(|f| f.fault.services().first().cloned());
        let health = |is_not| Condition {
            service: first.clone(),
            signal: Signal::Health,
            above: None,
            below: None,
            is: None,
            is_not,
            times_baseline: None,
        };
        Ok(Drill {
            title: format!("Game day (seed {})", self.seed),
            summary: format!("{} random faults over {} s", faults.len(), self.duration_s),
            narrative: "Random faults from the allowed set, at random times, for random durations. \
                        Nobody knows what comes next: watch the overview, name the failing service, \
                        then compare with the report's timeline."
                .into(),
            max_duration_s: self.duration_s + self.fault_duration_s[1] + 120.0,
            steady_state: super::drill::SteadyState {
                duration_s: 5.0,
                slis: vec![Condition {
                    is: Some(Health::Up),
                    ..health(None)
                }],
            },
            faults,
            scale: Vec::new(),
            symptom: super::drill::Symptom {
                condition: health(Some(Health::Up)),
                within_s: 30.0,
            },
            recovery: super::drill::Recovery { within_s: 60.0 },
            abort: Vec::new(),
        })
    }
}

/// What to run, and for whom.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The drill file's name (`gameday` for a game day).
    pub name: String,
    pub drill: Drill,
    pub time_scale: f64,
    pub actor: String,
    pub game_day_seed: Option<u64>,
}

/// Starts a run in the background and returns its id and handle.
pub fn start(
    req: RunRequest,
    launcher: Option<super::scale::LauncherClient>,
    faults: Arc<Faults>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    reports_dir: std::path::PathBuf,
    sight: Option<Sight>,
) -> (String, RunHandle) {
    let RunRequest {
        name,
        drill,
        time_scale,
        actor,
        game_day_seed,
    } = req;
    let name = name.as_str();
    let actor = actor.as_str();
    let id = format!("{}-{}", name, now_ms());
    let report = Report {
        id: id.clone(),
        drill: name.to_owned(),
        title: drill.title.clone(),
        verdict: Verdict::Running,
        reasons: Vec::new(),
        time_scale,
        started_at: now_ms(),
        ended_at: None,
        symptom: drill.symptom.condition.describe(),
        time_to_detect_ms: None,
        time_to_recover_ms: None,
        faults: drill
            .faults
            .iter()
            .map(|f| FaultOutcome {
                label: f.fault.to_string(),
                watched: f.fault.services().first().cloned(),
                fault_id: None,
                on_ms: None,
                off_ms: None,
                time_to_detect_ms: None,
                time_to_recover_ms: None,
            })
            .collect(),
        slis: Phases::default(),
        timeline: Vec::new(),
        narrative: drill.narrative.clone(),
        game_day_seed,
        scaling: drill
            .scale
            .iter()
            .map(|s| ScaleOutcome {
                service: s.service.clone(),
                replicas: s.replicas,
                ..ScaleOutcome::default()
            })
            .collect(),
        budget: Vec::new(),
        cause: None,
        stages: None,
    };
    let (tx, rx) = watch::channel(report.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let run = Run {
        scaling: drill.scale.iter().map(|_| ScaleTrack::default()).collect(),
        launcher,
        faults,
        snapshots,
        report,
        tx,
        stop: stop_rx,
        begun: Instant::now(),
        drill,
        actor: actor.to_owned(),
        budget_from: None,
        sight,
        stages: None,
    };
    let window = run.faults.annotations().open(FaultWindow {
        kind: "drill".into(),
        name: run.report.title.clone(),
        service: run.report.faults.first().and_then(|f| f.watched.clone()),
        start: run.report.started_at,
        end: None,
    });
    run.faults.audit().record(&super::audit::Entry {
        at: now_ms(),
        actor: run.actor.clone(),
        action: "drill.start".into(),
        id: Some(id.clone()),
        detail: serde_json::json!({"drill": name, "time_scale": time_scale, "seed": game_day_seed}),
    });
    // On disk from the start, so that a dashboard that dies mid-run leaves a report that the
    // next one can mark aborted (see `abort_orphans`).
    save(&reports_dir, &run.report);
    let live = run.tx.clone();
    let faults = run.faults.clone();
    let actor = run.actor.clone();
    tokio::spawn(async move {
        let report = supervise(execute(run, time_scale), &live, &faults, &actor).await;
        faults.annotations().close(window, now_ms());
        faults.audit().record(&super::audit::Entry {
            at: now_ms(),
            actor,
            action: "drill.end".into(),
            id: Some(report.id.clone()),
            detail: serde_json::json!({
                "verdict": report.verdict,
                "reasons": report.reasons,
                "time_to_detect_ms": report.time_to_detect_ms,
                "time_to_recover_ms": report.time_to_recover_ms,
            }),
        });
        save(&reports_dir, &report);
        prune_reports(&reports_dir, MAX_REPORTS);
    });
    (
        id,
        RunHandle {
            report: rx,
            stop: stop_tx,
        },
    )
}

/// Runs a drill to its end, whatever happens to it: if the run panics, its report is closed
/// as aborted (with the reason) and its faults are rolled back, so no run is left "running"
/// and no fault outlives its drill.
async fn supervise(
    run: impl std::future::Future<Output = Report> + Send + 'static,
    live: &watch::Sender<Report>,
    faults: &Faults,
    actor: &str,
) -> Report {
    match tokio::spawn(run).await {
        Ok(report) => report,
        Err(e) => {
            let mut report = live.borrow().clone();
            tracing::error!(run = %report.id, error = %e, "the drill run failed");
            if let Err(e) = faults.reset(actor, Some(&report.id)).await {
                report.reasons.push(format!("rolling back: {e}"));
            }
            report.reasons.push(format!("the run failed: {e}"));
            report.verdict = Verdict::Aborted;
            report.ended_at = Some(now_ms());
            let _ = live.send(report.clone());
            report
        }
    }
}

/// Reports kept on disk; the oldest beyond this are deleted as new ones are written.
pub const MAX_REPORTS: usize = 200;

/// The report file of run `id`, if `id` can be one (no path separators, no `..`).
pub fn report_path(dir: &std::path::Path, id: &str) -> Option<std::path::PathBuf> {
    let safe = !id.is_empty()
        && id.len() <= 200
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    safe.then(|| dir.join(format!("{id}.json")))
}

/// Report files, newest (last written) first.
pub fn report_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort_by(|a, b| b.cmp(a));
    files.into_iter().map(|(_, p)| p).collect()
}

pub fn read_report(path: &std::path::Path) -> Option<Report> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Deletes the oldest reports beyond `keep`.
fn prune_reports(dir: &std::path::Path, keep: usize) {
    for old in report_files(dir).into_iter().skip(keep) {
        if let Err(e) = std::fs::remove_file(&old) {
            tracing::warn!(path = %old.display(), error = %e, "cannot delete an old drill report");
        }
    }
}

/// Marks the runs a previous dashboard left "running" (it stopped or crashed mid-run) as
/// aborted: no task is behind them any more. Returns how many. Their faults expire by their
/// TTL, and the control plane starts from the base flags anyway.
pub fn abort_orphans(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for path in report_files(dir) {
        let Some(mut report) = read_report(&path) else {
            continue;
        };
        if report.verdict != Verdict::Running {
            continue;
        }
        report.verdict = Verdict::Aborted;
        report
            .reasons
            .push("the dashboard stopped during the run".into());
        report.ended_at = Some(now_ms());
        save(dir, &report);
        n += 1;
    }
    n
}

fn save(dir: &std::path::Path, report: &Report) {
    let Some(path) = report_path(dir, &report.id) else {
        tracing::error!(run = %report.id, "a drill run id that cannot name a file");
        return;
    };
    // Written aside and renamed over, so a crash mid-write never leaves half a report.
    let aside = path.with_extension("json.tmp");
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| {
            std::fs::write(
                &aside,
                serde_json::to_vec_pretty(report).unwrap_or_default(),
            )
        })
        .and_then(|()| std::fs::rename(&aside, &path));
    if let Err(e) = written {
        tracing::error!(path = %path.display(), error = %e, "cannot write the drill report");
    }
}

async fn execute(mut run: Run, scale: f64) -> Report {
    let drill = run.drill.clone();
    let slis = sli_conditions(&drill);
    let secs = |s: f64| Duration::from_secs_f64((s * scale).max(0.0));
    let deadline =
        run.begun + secs(drill.max_duration_s) + Duration::from_secs_f64(drill.recovery.within_s);
    run.log(format!("drill started: {}", drill.title));

    // 1. Steady state: the hypothesis must hold when it ends.
    let steady_end = Instant::now() + secs(drill.steady_state.duration_s);
    while Instant::now() < steady_end {
        if run.stopped() {
            return run
                .finish(Verdict::Stopped, Some("stopped by request".into()))
                .await;
        }
        run.tick().await;
        run.sample_scaling(Phase::Steady);
    }
    run.note_scaling_start().await;
    let snap = run.snap();
    let broken: Vec<String> = drill
        .steady_state
        .slis
        .iter()
        .filter(|c| !c.holds(c.read(&snap), None))
        .map(|c| {
            let now = c
                .read(&snap)
                .map(|r| r.to_string())
                .unwrap_or_else(|| "no data".into());
            format!("{} (now {now})", c.describe())
        })
        .collect();
    run.report.slis.before = run.sample(&slis);
    if !broken.is_empty() {
        return run
            .finish(
                Verdict::Failed,
                Some(format!("steady state not met: {}", broken.join("; "))),
            )
            .await;
    }
    let baseline = drill.symptom.condition.read(&snap);
    run.budget_from = Some((Instant::now(), snap.clone()));
    run.log("steady state holds");

    // 2. The schedule, watching symptom, per-fault health and the abort guard.
    let t0 = Instant::now();
    let first_on_ms = run.t_ms();
    let mut next = 0usize;
    let mut on: Vec<Option<(String, Instant)>> = vec![None; drill.faults.len()];
    let mut done = vec![false; drill.faults.len()];
    let mut last_off: Option<Instant> = None;
    let mut detected_at: Option<u64> = None;
    // The probable cause is read this long after the symptom appears (or when a fault is
    // about to end, if sooner): long enough for the evidence to settle, while the faults are on.
    let mut cause_due: Option<Instant> = None;
    let symptom = &drill.symptom.condition;
    loop {
        if run.stopped() {
            return run
                .finish(Verdict::Stopped, Some("stopped by request".into()))
                .await;
        }
        if Instant::now() > deadline {
            return run
                .finish(Verdict::Failed, Some("maximum duration reached".into()))
                .await;
        }
        let elapsed = t0.elapsed();
        // Start what is due.
        while next < drill.faults.len() && elapsed >= secs(drill.faults[next].at_s) {
            let f = &drill.faults[next];
            let ttl = (f.duration_s * scale).ceil() as u64 + 30;
            let req = FaultRequest {
                spec: f.fault.clone(),
                ttl_s: Some(ttl),
                reason: Some(format!("drill {}", run.report.drill)),
            };
            match run
                .faults
                .activate(req, &run.actor, Some(&run.report.id.clone()))
                .await
            {
                Ok(active) => {
                    if run.stages.is_none()
                        && let Some(sight) = run.sight.clone()
                    {
                        run.stages = Some(StageTracker::start(
                            sight,
                            now_ms(),
                            f.fault.services().first().cloned(),
                            f.fault.acts_on_requests(),
                        ));
                    }
                    let t = run.t_ms();
                    run.report.faults[next].fault_id = Some(active.id.clone());
                    run.report.faults[next].on_ms = Some(t);
                    on[next] = Some((active.id, Instant::now()));
                    run.log(format!("fault on: {}", f.fault));
                }
                Err(e) => {
                    return run
                        .finish(
                            Verdict::Failed,
                            Some(format!("cannot start {}: {e}", f.fault)),
                        )
                        .await;
                }
            }
            next += 1;
        }
        // The probable cause, while the faults are on.
        if run.report.cause.is_none() && cause_due.is_some() {
            let ending = (0..drill.faults.len()).any(|i| {
                !done[i]
                    && on[i].as_ref().is_some_and(|(_, since)| {
                        since.elapsed() >= secs(drill.faults[i].duration_s)
                    })
            });
            let top = run
                .snap()
                .view
                .diagnosis
                .as_ref()
                .and_then(|d| d.causes.first().cloned());
            // Due, and the dashboard names a cause (or the faults are ending): a symptom the
            // dashboard has not explained yet is waited on, and the first cause it shows is the
            // one judged.
            if ending || (top.is_some() && cause_due.is_some_and(|d| Instant::now() >= d)) {
                let active: Vec<&FaultSpec> = (0..drill.faults.len())
                    .filter(|i| on[*i].is_some() && !done[*i])
                    .map(|i| &drill.faults[i].fault)
                    .collect();
                let check = super::cause_check::check(run.t_ms(), top, &active);
                run.log(format!(
                    "probable cause: {} — {} (injected: {})",
                    check
                        .top
                        .as_ref()
                        .map_or_else(|| "none".to_owned(), |c| c.summary.clone()),
                    if check.hit { "right" } else { "wrong" },
                    check.expected.join("; ")
                ));
                run.report.cause = Some(check);
            }
        }
        // End what is due.
        for i in 0..drill.faults.len() {
            let Some((id, since)) = on[i].clone() else {
                continue;
            };
            if done[i] || since.elapsed() < secs(drill.faults[i].duration_s) {
                continue;
            }
            if let Err(e) = run.faults.clear(&id, &run.actor, "fault.clear").await {
                run.log(format!("clearing {} failed: {e}", drill.faults[i].fault));
            }
            done[i] = true;
            run.report.faults[i].off_ms = Some(run.t_ms());
            last_off = Some(Instant::now());
            run.log(format!("fault off: {}", drill.faults[i].fault));
        }
        if let Err(why) = run.run_scaling(elapsed, scale).await {
            return run.finish(Verdict::Failed, Some(why)).await;
        }
        run.sample_scaling(Phase::Faulted);
        let snap = run.snap();
        // The symptom.
        let holds = symptom.holds(symptom.read(&snap), baseline);
        if let Some(tracker) = run.stages.as_mut() {
            tracker.observe(&snap, holds);
        }
        if detected_at.is_none() && holds {
            let t = run.t_ms() - first_on_ms;
            detected_at = Some(t);
            cause_due = Some(Instant::now() + CAUSE_AFTER);
            run.report.time_to_detect_ms = Some(t);
            run.log(format!("symptom seen after {t} ms: {}", symptom.describe()));
        }
        run.track_faults(&snap);
        // The abort guard.
        if let Some(c) = drill.abort.iter().find(|c| c.holds(c.read(&snap), None)) {
            let now = c.read(&snap).map(|r| r.to_string()).unwrap_or_default();
            run.log(format!(
                "abort guard tripped: {} (now {now}); rolling back",
                c.describe()
            ));
            return run
                .finish(
                    Verdict::Aborted,
                    Some(format!("abort guard: {}", c.describe())),
                )
                .await;
        }
        // Worst values while faulted.
        for (name, r) in run.sample(&slis) {
            let merged = match run.report.slis.during.get(&name) {
                Some(prev) => worse(*prev, r, &name),
                None => r,
            };
            run.report.slis.during.insert(name, merged);
        }
        let _ = run.tx.send(run.report.clone());
        if done.iter().all(|d| *d) {
            break;
        }
        run.tick().await;
    }

    // 3. Recovery: the symptom's service healthy again, the symptom gone.
    let off = last_off.unwrap_or_else(Instant::now);
    let off_ms = run.t_ms();
    let recover_by = off + Duration::from_secs_f64(drill.recovery.within_s);
    let watched = symptom.service.clone().or_else(|| {
        drill
            .faults
            .first()
            .and_then(|f| f.fault.services().first().cloned())
    });
    loop {
        if run.stopped() {
            return run
                .finish(Verdict::Stopped, Some("stopped by request".into()))
                .await;
        }
        let snap = run.snap();
        run.track_faults(&snap);
        let healthy = watched.as_ref().is_none_or(|w| {
            snap.services
                .iter()
                .find(|s| &s.name == w)
                .is_some_and(|s| s.health == Health::Up)
        });
        let gone = !symptom.holds(symptom.read(&snap), baseline);
        if healthy && gone {
            let t = run.t_ms() - off_ms;
            run.report.time_to_recover_ms = Some(t);
            run.log(format!("recovered {t} ms after the last fault ended"));
            break;
        }
        if Instant::now() > recover_by {
            run.report.slis.after = run.sample(&slis);
            return run
                .finish(
                    Verdict::Failed,
                    Some(format!(
                        "recovery not seen within {} s after the faults ended",
                        drill.recovery.within_s
                    )),
                )
                .await;
        }
        run.tick().await;
    }
    run.report.slis.after = run.sample(&slis);
    match detected_at {
        Some(t) if t as f64 <= drill.symptom.within_s * 1000.0 => run.finish(Verdict::Passed, None).await,
        Some(t) => {
            run.finish(
                Verdict::Failed,
                Some(format!(
                    "symptom seen after {t} ms, later than the {} s allowed",
                    drill.symptom.within_s
                )),
            )
            .await
        }
        None => {
            run.finish(
                Verdict::Failed,
                Some(format!(
                    "symptom never appeared: {} (the fault changed nothing the dashboard could see)",
                    symptom.describe()
                )),
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn game_day(seed: u64) -> GameDay {
        GameDay {
            seed,
            duration_s: 120.0,
            interval_s: [10.0, 30.0],
            fault_duration_s: [5.0, 15.0],
            allowed: vec![
                serde_json::from_value(
                    serde_json::json!({"kind": "latency", "service": "payment", "ms": 800}),
                )
                .expect("spec"),
                serde_json::from_value(
                    serde_json::json!({"kind": "error-rate", "service": "catalog", "percent": 20}),
                )
                .expect("spec"),
            ],
        }
    }

    #[test]
    fn a_game_day_is_the_same_for_the_same_seed_and_stays_in_its_ranges() {
        let a = game_day(7).drill().expect("drill");
        assert_eq!(
            a,
            game_day(7).drill().expect("drill"),
            "same seed, same schedule"
        );
        assert_ne!(a.faults, game_day(8).drill().expect("drill").faults);
        assert!(
            a.faults.len() >= 4,
            "{} faults in 120 s at 10-30 s intervals",
            a.faults.len()
        );
        for pair in a.faults.windows(2) {
            let gap = pair[1].at_s - pair[0].at_s;
            assert!((9.9..=30.1).contains(&gap), "gap {gap}");
        }
        for f in &a.faults {
            assert!(f.at_s < 120.0 && f.duration_s > 0.0 && f.duration_s <= 15.0);
        }
        assert!(a.max_duration_s >= a.steady_state.duration_s + 120.0);
    }

    #[test]
    fn a_game_day_with_nonsense_ranges_is_refused() {
        let mut g = game_day(1);
        g.interval_s = [30.0, 10.0];
        assert!(g.drill().is_err());
        let mut g = game_day(1);
        g.allowed.clear();
        assert!(g.drill().is_err());
        // Issue 13: out-of-range values used to pass when merely positive and ordered.
        for (interval, fault, duration) in [
            ([0.001, 0.002], [5.0, 15.0], 120.0),
            ([10.0, 1e12], [5.0, 15.0], 120.0),
            ([10.0, 30.0], [0.01, 15.0], 120.0),
            ([10.0, 30.0], [5.0, 1e9], 120.0),
            ([10.0, 30.0], [5.0, 15.0], 0.5),
            ([10.0, 30.0], [5.0, 15.0], f64::NAN),
            ([f64::NAN, 30.0], [5.0, 15.0], 120.0),
            ([10.0, f64::INFINITY], [5.0, 15.0], 120.0),
        ] {
            let mut g = game_day(1);
            g.interval_s = interval;
            g.fault_duration_s = fault;
            g.duration_s = duration;
            assert!(g.drill().is_err(), "{interval:?} {fault:?} {duration}");
        }
        let mut g = game_day(1);
        g.allowed = vec![g.allowed[0].clone(); GAME_DAY_MAX_ALLOWED + 1];
        assert_eq!(
            g.drill().err(),
            Some(BadGameDay::Allowed),
            "too many allowed faults"
        );
    }

    /// Issue 13: a run task that failed left its report "running" for ever (and with it the
    /// 409 drill_running for every later run). The supervisor closes it as aborted.
    #[tokio::test]
    async fn a_run_that_panics_ends_aborted_not_running() {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = Report {
            id: "quick-1".into(),
            drill: "quick".into(),
            title: "Quick".into(),
            verdict: Verdict::Running,
            reasons: Vec::new(),
            time_scale: 1.0,
            started_at: 1,
            ended_at: None,
            symptom: String::new(),
            time_to_detect_ms: None,
            time_to_recover_ms: None,
            faults: Vec::new(),
            slis: Phases::default(),
            timeline: Vec::new(),
            narrative: String::new(),
            game_day_seed: None,
            scaling: Vec::new(),
            budget: Vec::new(),
            cause: None,
            stages: None,
        };
        let (live, rx) = watch::channel(report);
        let faults = Faults::start(
            apiary_faults::Shape::default(),
            apiary_faults::Caps {
                max_active: 1,
                max_percent: 50.0,
                max_ttl_s: 60,
                max_spike_factor: 2.0,
            },
            serde_json::from_value(serde_json::json!({"flags": {}})).expect("flag set"),
            dir.path().join("flags.json"),
            Arc::new(super::super::audit::Audit::new(
                dir.path().join("audit.jsonl"),
            )),
            Arc::new(crate::monitor::Annotations::default()),
            None,
        )
        .expect("faults");
        let ended = supervise(
            async { panic!("a bug in the run") },
            &live,
            &faults,
            "tester",
        )
        .await;
        assert_eq!(ended.verdict, Verdict::Aborted);
        assert!(ended.ended_at.is_some());
        assert!(
            ended.reasons.iter().any(|r| r.contains("the run failed")),
            "{:?}",
            ended.reasons
        );
        assert_eq!(rx.borrow().verdict, Verdict::Aborted, "the live report too");
    }

    #[test]
    fn a_report_left_running_is_marked_aborted_on_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r: Report = serde_json::from_value(serde_json::json!({
            "id": "quick-7", "drill": "quick", "title": "Quick", "verdict": "running",
            "reasons": [], "time_scale": 1.0, "started_at": 7, "ended_at": null, "symptom": "",
            "time_to_detect_ms": null, "time_to_recover_ms": null, "faults": [],
            "slis": {"before": {}, "during": {}, "after": {}}, "timeline": [], "narrative": "",
            "game_day_seed": null
        }))
        .expect("report");
        save(dir.path(), &r);
        r.id = "quick-8".into();
        r.verdict = Verdict::Passed;
        save(dir.path(), &r);
        assert_eq!(abort_orphans(dir.path()), 1);
        let orphan = read_report(&dir.path().join("quick-7.json")).expect("report");
        assert_eq!(orphan.verdict, Verdict::Aborted);
        assert!(orphan.ended_at.is_some());
        let done = read_report(&dir.path().join("quick-8.json")).expect("report");
        assert_eq!(
            done.verdict,
            Verdict::Passed,
            "finished runs are left alone"
        );
        assert_eq!(abort_orphans(dir.path()), 0);
    }

    #[test]
    fn report_ids_cannot_leave_the_reports_directory() {
        let dir = std::path::Path::new("/reports");
        assert!(report_path(dir, "quick-1700000000000").is_some());
        for bad in ["../secret", "a/b", "..", ".hidden", "", "a\\b", "x%2Fy"] {
            assert!(report_path(dir, bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn old_reports_are_pruned_to_the_newest() {
        let dir = tempfile::tempdir().expect("tempdir");
        for i in 0..5 {
            std::fs::write(dir.path().join(format!("r-{i}.json")), "{}").expect("write");
            // Distinct modification times, oldest first.
            let t = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000 + i);
            std::fs::File::options()
                .write(true)
                .open(dir.path().join(format!("r-{i}.json")))
                .and_then(|f| f.set_modified(t))
                .expect("mtime");
        }
        prune_reports(dir.path(), 2);
        let left: Vec<String> = report_files(dir.path())
            .iter()
            .filter_map(|p| Some(p.file_name()?.to_str()?.to_owned()))
            .collect();
        assert_eq!(left, ["r-4.json", "r-3.json"]);
    }

    #[test]
    fn the_worst_reading_depends_on_the_signal() {
        let n = Reading::Number;
        assert_eq!(worse(n(1.0), n(5.0), "payment.p95_ms"), n(5.0));
        assert_eq!(worse(n(10.0), n(2.0), "shop.orders_per_min"), n(2.0));
        assert_eq!(worse(n(1.0), n(5.0), "shop.orders_failed_per_min"), n(5.0));
        assert_eq!(
            worse(
                Reading::Health(Health::Degraded),
                Reading::Health(Health::Up),
                "x.health"
            ),
            Reading::Health(Health::Degraded)
        );
    }
}
