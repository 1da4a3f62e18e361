//! Running a drill against the live stack: steady state, the fault schedule, the symptom the
//! dashboard must show, recovery, the abort guard — timed from the dashboard's own snapshots,
//! so "detected" means "the dashboard showed it". Every run leaves a JSON report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_faults::FaultSpec;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::drill::{Condition, Drill, Reading, ScheduledFault, Signal};
use super::faults::{FaultRequest, Faults};
use crate::monitor::{FaultWindow, Health, Snapshot, now_ms};

/// How often the runner looks at the dashboard's snapshot.
const TICK: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Running,
    Passed,
    Failed,
    Aborted,
    Stopped,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// Milliseconds since the run began.
    pub t_ms: u64,
    pub event: String,
}

/// One scheduled fault as it happened.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultOutcome {
    pub label: String,
    /// The service whose health is watched for this fault.
    pub watched: Option<String>,
    pub fault_id: Option<String>,
    /// Milliseconds since the run began.
    pub on_ms: Option<u64>,
    pub off_ms: Option<u64>,
    /// Fault on -> the watched service's health not `up` on the dashboard.
    pub time_to_detect_ms: Option<u64>,
    /// Fault off -> healthy again.
    pub time_to_recover_ms: Option<u64>,
}

/// SLI values in one phase (worst seen during the fault, last seen otherwise).
pub type Slis = std::collections::BTreeMap<String, Reading>;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub id: String,
    pub drill: String,
    pub title: String,
    pub verdict: Verdict,
    /// Why it failed (empty when passed).
    pub reasons: Vec<String>,
    pub time_scale: f64,
    /// Unix milliseconds.
    pub started_at: u64,
    pub ended_at: Option<u64>,
    pub symptom: String,
    /// First fault on -> the symptom shown by the dashboard.
    pub time_to_detect_ms: Option<u64>,
    /// Last fault off -> the symptom's service healthy again.
    pub time_to_recover_ms: Option<u64>,
    pub faults: Vec<FaultOutcome>,
    pub slis: Phases,
    pub timeline: Vec<Event>,
    pub narrative: String,
    /// Faults disabled in the services (`APIARY_FAULTS=off`) are not known here; a drill whose
    /// symptom never appears fails, whatever the reason.
    pub game_day_seed: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Phases {
    pub before: Slis,
    pub during: Slis,
    pub after: Slis,
}

/// The SLIs a report records: the symptom's service RED and health, and the shop's KPIs.
fn sli_conditions(drill: &Drill) -> Vec<(String, Condition)> {
    let mut out = Vec::new();
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
    snapshots: watch::Receiver<Arc<Snapshot>>,
    report: Report,
    tx: watch::Sender<Report>,
    stop: watch::Receiver<bool>,
    begun: Instant,
    drill: Drill,
    actor: String,
}

impl Run {
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

impl GameDay {
    pub fn drill(&self) -> Result<Drill, String> {
        let ok = |r: [f64; 2]| r[0] > 0.0 && r[0] <= r[1] && r[1].is_finite();
        if !(ok(self.interval_s) && ok(self.fault_duration_s)) {
            return Err(
                "interval_s and fault_duration_s are [min, max] with 0 < min <= max".into(),
            );
        }
        if self.allowed.is_empty() || !(self.duration_s > 0.0 && self.duration_s <= 3600.0) {
            return Err("give at least one allowed fault and duration_s in (0, 3600]".into());
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
    faults: Arc<Faults>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    reports_dir: std::path::PathBuf,
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
    };
    let (tx, rx) = watch::channel(report.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let run = Run {
        faults,
        snapshots,
        report,
        tx,
        stop: stop_rx,
        begun: Instant::now(),
        drill,
        actor: actor.to_owned(),
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
    tokio::spawn(async move {
        let faults = run.faults.clone();
        let actor = run.actor.clone();
        let report = execute(run, time_scale).await;
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
    });
    (
        id,
        RunHandle {
            report: rx,
            stop: stop_tx,
        },
    )
}

fn save(dir: &std::path::Path, report: &Report) {
    let path = dir.join(format!("{}.json", report.id));
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        std::fs::write(&path, serde_json::to_vec_pretty(report).unwrap_or_default())
    });
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
    }
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
    run.log("steady state holds");

    // 2. The schedule, watching symptom, per-fault health and the abort guard.
    let t0 = Instant::now();
    let first_on_ms = run.t_ms();
    let mut next = 0usize;
    let mut on: Vec<Option<(String, Instant)>> = vec![None; drill.faults.len()];
    let mut done = vec![false; drill.faults.len()];
    let mut last_off: Option<Instant> = None;
    let mut detected_at: Option<u64> = None;
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
        let snap = run.snap();
        // The symptom.
        if detected_at.is_none() && symptom.holds(symptom.read(&snap), baseline) {
            let t = run.t_ms() - first_on_ms;
            detected_at = Some(t);
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
