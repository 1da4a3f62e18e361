//! Probable cause: from what is red to why, read from telemetry alone.
//!
//! 1. Symptoms: every service that is not up, and the signals out of line that health does
//!    not show — a traffic surge at the shop's edge (requests/s at least 2.5x the same service's
//!    rate 10 s to 5 min ago), a queue backing up, dead letters, an outbox backing up, carts
//!    lost.
//! 2. Candidates, each with the symptoms it explains:
//!    - a symptomatic service with no symptomatic service below it (along the last minute's
//!      call edges) explains itself and every symptomatic caller chained above it — checkout
//!      failing because payment fails is a payment problem;
//!    - a link: a symptomatic caller whose calls to a service fail or crawl while that service
//!      reports nothing wrong (it hangs, or the network between them is cut) points at the
//!      callee;
//!    - traffic: the surge explains itself and the latency symptoms below the entry service;
//!    - the broker: services not ready for want of it, and outboxes backing up;
//!    - a queue backing up (at least 3 messages, more than 5 s ago) points at its consumer;
//!    - messages: dead letters on two or more queues of one producer are the producer's
//!      messages; on one queue, its consumer's;
//!    - business: a KPI only its owner moves (carts lost: cart).
//! 3. Rank: most symptoms explained first; then down before degraded, deeper before higher.
//! 4. Attributes: for the top service candidates, every attribute value of their server
//!    spans, the share of bad spans (failed, or slower than the latency objective) carrying it
//!    against the share of good spans of the last five minutes carrying it; the biggest
//!    differences first (the value a bad deploy's spans carry, the one route that fails).
//!    The fault marker drills add (`apiary.fault`) and the status fields that *are* the
//!    failure are not candidates.
//! 5. Changes of the last five minutes (faults and drills set, restarts, versions seen,
//!    instance counts) are listed, and added to the evidence of a cause on the same service;
//!    they never change the ranking, so a drill's hit rate measures what telemetry shows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use dashboard_api::{AttributeDelta, Cause, Change, Diagnosis, Health, SeriesPoint};

use super::{Snapshot, Thresholds, now_ns, round};
use crate::model::{AttrValue, SpanKind};
use crate::store::Store;

/// Recomputed at most this often (snapshots come twice a second).
const REFRESH: Duration = Duration::from_secs(1);
/// Bad spans are read from this far back, good ones from [`BASELINE`].
const RECENT: Duration = Duration::from_secs(30);
const BASELINE: Duration = Duration::from_secs(300);
/// Spans read per service at most (newest first).
const MAX_SPANS: usize = 20_000;
/// A surge: at least this many times the baseline rate, and at least [`SURGE_MIN_RPS`]. Under
/// the 3x a drill's symptom asks for: an open-model spike ramps up while journeys already
/// started finish at the old rate, and Black Friday's x8 arrivals reach about 3x requests/s in
/// its compressed window.
const SURGE: f64 = 2.5;
const SURGE_MIN_RPS: f64 = 5.0;
/// Backlogged: an outbox with at least this many rows.
const OUTBOX_BACKED_UP: f64 = 3.0;
/// Backing up: a queue holding at least this many messages, more than [`DEPTH_TREND`] ago.
const QUEUE_BACKING_UP: f64 = 3.0;
const DEPTH_TREND: Duration = Duration::from_secs(5);
/// The traffic baseline ends this long before now and needs this many points.
const BASELINE_GAP: Duration = Duration::from_secs(10);
const BASELINE_POINTS: usize = 5;
/// The surge's rate now: the 1-second points of this last stretch.
const RECENT_RATE: Duration = Duration::from_secs(3);
/// An attribute value must be carried by this many bad spans, and this much more often than by
/// good ones, to be shown.
const MIN_BAD_SPANS: u64 = 3;
const MIN_DELTA: f64 = 0.2;
/// Changes are listed from this far back.
const CHANGES: Duration = Duration::from_secs(300);
/// Business KPIs only one service moves: (KPI, its owner, what it means).
const BUSINESS_OWNERS: &[(&str, &str, &str)] = &[("carts_lost_per_min", "cart", "carts lost")];

/// What the loop keeps between diagnoses.
#[derive(Debug, Default)]
pub struct CauseWatch {
    computed: Option<Instant>,
    last: Option<Diagnosis>,
    /// Instance counts last seen, and the scaling changes seen (for the change list).
    instances: HashMap<String, usize>,
    scaled: Vec<Change>,
    /// Each queue's depth over the last [`DEPTH_TREND`] and a little more (Unix ms, depth).
    depths: HashMap<String, std::collections::VecDeque<(u64, f64)>>,
}

/// What the loop remembers that one snapshot cannot say.
#[derive(Debug, Default)]
pub struct History {
    /// Scaling changes of the last five minutes.
    pub scaled: Vec<Change>,
    /// Queues backing up: at least [`QUEUE_BACKING_UP`] messages, and more than
    /// [`DEPTH_TREND`] ago.
    pub backing_up: Vec<String>,
}

impl CauseWatch {
    /// Sets `snapshot.view.diagnosis` (None when nothing is wrong), recomputing at most once
    /// per [`REFRESH`].
    pub fn apply(&mut self, snapshot: &mut Snapshot, store: &Store, thresholds: &Thresholds) {
        self.note_scaling(snapshot);
        let backing_up = self.note_depths(snapshot);
        if self.computed.is_none_or(|at| at.elapsed() >= REFRESH) {
            self.computed = Some(Instant::now());
            let history = History {
                scaled: self.scaled.clone(),
                backing_up,
            };
            self.last = diagnose(snapshot, store, thresholds, &history);
        }
        snapshot.view.diagnosis = self.last.clone();
    }

    /// Keeps each queue's recent depths; returns the queues backing up.
    fn note_depths(&mut self, snapshot: &Snapshot) -> Vec<String> {
        let now = snapshot.view.at;
        let trend = DEPTH_TREND.as_millis() as u64;
        let mut out = Vec::new();
        for q in &snapshot.view.messaging.queues {
            let Some(depth) = q.depth else {
                continue;
            };
            let kept = self.depths.entry(q.queue.clone()).or_default();
            kept.push_back((now, depth));
            while kept.len() > 1 && kept[1].0 + trend <= now {
                kept.pop_front();
            }
            let before = kept
                .front()
                .filter(|(t, _)| *t + trend <= now)
                .map(|(_, d)| *d);
            if depth >= QUEUE_BACKING_UP && before.is_some_and(|b| depth > b) {
                out.push(q.queue.clone());
            }
        }
        out
    }

    fn note_scaling(&mut self, snapshot: &Snapshot) {
        let now = snapshot.view.at;
        for s in &snapshot.view.services {
            let n = s.instances.len().max(1);
            if let Some(before) = self.instances.insert(s.name.clone(), n)
                && before != n
            {
                self.scaled.push(Change {
                    at: now,
                    kind: "scaling".into(),
                    service: Some(s.name.clone()),
                    what: format!("{}: {before} -> {n} instances", s.name),
                });
            }
        }
        let since = now.saturating_sub(CHANGES.as_millis() as u64);
        self.scaled.retain(|c| c.at >= since);
    }
}

/// A candidate before ranking.
struct Candidate {
    cause: Cause,
    severity: f64,
    depth: usize,
}

/// The diagnosis of `snapshot`, or None when nothing is wrong.
pub fn diagnose(
    snapshot: &Snapshot,
    store: &Store,
    thresholds: &Thresholds,
    history: &History,
) -> Option<Diagnosis> {
    let view = &snapshot.view;
    let health: BTreeMap<&str, Health> = view
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.health))
        .collect();
    let sick: BTreeSet<&str> = view
        .services
        .iter()
        .filter(|s| matches!(s.health, Health::Degraded | Health::Down))
        .map(|s| s.name.as_str())
        .collect();
    let reason = |name: &str| {
        view.service(name)
            .and_then(|s| s.reason.clone())
            .unwrap_or_default()
    };
    // Calls among watched services in the last minute.
    let mut callees: BTreeMap<&str, Vec<&dashboard_api::Edge>> = BTreeMap::new();
    let mut callers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    // (The load generator and other unwatched callers are the outside world: a service only
    // they call is an entry.)
    for e in &view.topology.edges {
        if e.from == e.to
            || !health.contains_key(e.to.as_str())
            || !health.contains_key(e.from.as_str())
        {
            continue;
        }
        callees.entry(e.from.as_str()).or_default().push(e);
        callers
            .entry(e.to.as_str())
            .or_default()
            .push(e.from.as_str());
    }
    // Symptomatic callers chained above `name` (through symptomatic services only).
    let above = |name: &str| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo = vec![name.to_owned()];
        while let Some(n) = todo.pop() {
            for c in callers.get(n.as_str()).into_iter().flatten() {
                if sick.contains(c) && out.insert((*c).to_owned()) {
                    todo.push((*c).to_owned());
                }
            }
        }
        out.remove(name);
        out
    };
    let depth = |name: &str| -> usize {
        let mut d = 0;
        let mut level: BTreeSet<&str> = BTreeSet::from([name]);
        while d < 16 {
            let next: BTreeSet<&str> = level
                .iter()
                .flat_map(|n| callers.get(n).into_iter().flatten().copied())
                .collect();
            if next.is_empty() {
                break;
            }
            d += 1;
            level = next;
        }
        d
    };
    let severity = |name: &str| match health.get(name) {
        Some(Health::Down) => 0.5,
        Some(Health::Degraded) => 0.2,
        _ => 0.0,
    };
    let broker_cut: BTreeSet<&str> = sick
        .iter()
        .copied()
        .filter(|s| reason(s).contains("broker"))
        .collect();

    let mut symptoms: Vec<String> = sick
        .iter()
        .map(|s| format!("{s} {}: {}", health[s].word(), reason(s)))
        .collect();
    let mut candidates: Vec<Candidate> = Vec::new();

    // Services whose own symptoms nothing below them explains, and failing links.
    for s in &sick {
        if broker_cut.contains(s) {
            continue;
        }
        let below_sick: Vec<&str> = callees
            .get(s)
            .into_iter()
            .flatten()
            .filter(|e| sick.contains(e.to.as_str()))
            .map(|e| e.to.as_str())
            .collect();
        let mut explains = above(s);
        explains.insert((*s).to_owned());
        if below_sick.is_empty() {
            candidates.push(Candidate {
                cause: Cause {
                    kind: "service".into(),
                    service: Some((*s).to_owned()),
                    summary: format!("{s}: {}", reason(s)),
                    explains: explains.iter().cloned().collect(),
                    evidence: vec![format!("{s} is {}: {}", health[s].word(), reason(s))],
                    ..Cause::default()
                },
                severity: severity(s),
                depth: depth(s),
            });
        }
        for e in callees.get(s).into_iter().flatten() {
            let callee = e.to.as_str();
            let slow = e
                .p95_ms
                .is_some_and(|p| p >= thresholds.latency_objective_ms);
            if sick.contains(callee) || !(e.error_rate >= thresholds.error_ratio || slow) {
                continue;
            }
            candidates.push(Candidate {
                cause: Cause {
                    kind: "link".into(),
                    service: Some(callee.to_owned()),
                    peer: Some((*s).to_owned()),
                    summary: format!(
                        "{s} -> {callee}: {} of calls fail, p95 {}, while {callee} reports nothing wrong (it hangs, or the network between them is cut)",
                        pct(e.error_rate),
                        e.p95_ms.map_or_else(|| "-".to_owned(), |p| format!("{p:.0} ms"))
                    ),
                    explains: explains.iter().cloned().collect(),
                    evidence: vec![format!(
                        "calls {s} -> {callee}: {:.1}/s, {} failed, p95 {}; {callee} is {}",
                        e.rps,
                        pct(e.error_rate),
                        e.p95_ms.map_or_else(|| "-".to_owned(), |p| format!("{p:.0} ms")),
                        health.get(callee).copied().unwrap_or_default().word()
                    )],
                    ..Cause::default()
                },
                // A link explains its caller's failures better than the caller itself does.
                severity: 0.3,
                depth: depth(callee),
            });
        }
    }

    // A traffic surge at an entry service (no watched service calls it).
    for s in &view.services {
        if callers.contains_key(s.name.as_str()) {
            continue;
        }
        let series = snapshot.details.get(&s.name).map(|d| d.series.as_slice());
        let Some(base) = series.and_then(|series| baseline_rps(series, view.at)) else {
            continue;
        };
        // The rate now: the service's (smoothed over a few scrapes) or, when higher, the
        // median of its last 1-second points — the series a drill's symptom is judged on, so
        // a surge the symptom saw is not missed while the smoothed rate catches up.
        let rps = series
            .and_then(|series| recent_rps(series, view.at))
            .map_or(s.rps, |r| r.max(s.rps));
        if rps < SURGE_MIN_RPS || rps < SURGE * base.max(0.1) {
            continue;
        }
        let signal = format!("traffic surge at {}", s.name);
        symptoms.push(format!(
            "{signal}: {:.1} req/s, {:.1}x its {:.1} req/s of 10 s to 5 min ago",
            rps,
            rps / base.max(0.1),
            base
        ));
        // It explains itself and the latency symptoms below it.
        let mut explains = vec![signal];
        explains.extend(
            sick.iter()
                .filter(|x| reason(x).starts_with("p95"))
                .map(|x| (*x).to_owned()),
        );
        candidates.push(Candidate {
            cause: Cause {
                kind: "traffic".into(),
                service: Some(s.name.clone()),
                summary: format!(
                    "a traffic surge at {}: {:.1}x its recent rate",
                    s.name,
                    rps / base.max(0.1)
                ),
                explains,
                evidence: vec![format!(
                    "{}: {:.1} req/s now against {base:.1} req/s 10 s to 5 min ago",
                    s.name, rps
                )],
                ..Cause::default()
            },
            severity: 0.1,
            depth: 0,
        });
    }

    // The broker: services not ready for want of it, outboxes backing up.
    let m = &view.messaging;
    let backed_up: Vec<(&String, &f64)> = m
        .outbox_backlog
        .iter()
        .filter(|(_, n)| **n >= OUTBOX_BACKED_UP)
        .collect();
    if !broker_cut.is_empty() || !backed_up.is_empty() || m.broker == Health::Down {
        let mut explains: BTreeSet<String> = BTreeSet::new();
        let mut evidence = Vec::new();
        for s in &broker_cut {
            explains.insert((*s).to_owned());
            explains.extend(above(s));
            evidence.push(format!("{s}: {}", reason(s)));
        }
        for (producer, n) in &backed_up {
            let signal = format!("outbox backlog at {producer}");
            symptoms.push(format!("{signal}: {n} events not yet published"));
            explains.insert(signal);
            evidence.push(format!("{producer}'s outbox holds {n} unpublished events"));
        }
        if m.broker == Health::Down {
            evidence.push("the broker's metrics do not answer".into());
        }
        candidates.push(Candidate {
            cause: Cause {
                kind: "broker".into(),
                summary: "the message broker: services cannot reach it".into(),
                explains: explains.into_iter().collect(),
                evidence,
                ..Cause::default()
            },
            severity: 0.4,
            depth: 0,
        });
    }

    // Dead letters: one producer's messages rejected by several consumers, or one consumer's.
    let dead: Vec<&dashboard_api::QueueView> = m
        .queues
        .iter()
        .filter(|q| q.dead_letters_per_min.is_some_and(|r| r > 0.0))
        .collect();
    let mut by_producer: BTreeMap<&str, Vec<&dashboard_api::QueueView>> = BTreeMap::new();
    for q in &dead {
        symptoms.push(format!(
            "dead letters on {}: {:.1}/min",
            q.queue,
            q.dead_letters_per_min.unwrap_or(0.0)
        ));
        for p in &q.producers {
            by_producer.entry(p.as_str()).or_default().push(q);
        }
    }
    for (producer, queues) in &by_producer {
        if queues.len() < 2 {
            continue;
        }
        candidates.push(Candidate {
            cause: Cause {
                kind: "messages".into(),
                service: Some((*producer).to_owned()),
                summary: format!(
                    "{producer}'s messages: {} consumers dead-letter them",
                    queues.len()
                ),
                explains: queues
                    .iter()
                    .map(|q| format!("dead letters on {}", q.queue))
                    .collect(),
                evidence: queues
                    .iter()
                    .map(|q| {
                        format!(
                            "{} ({}) dead-letters {:.1}/min of {producer}'s messages",
                            q.queue,
                            q.consumer,
                            q.dead_letters_per_min.unwrap_or(0.0)
                        )
                    })
                    .collect(),
                ..Cause::default()
            },
            severity: 0.3,
            depth: 0,
        });
    }
    for q in dead.iter().filter(|q| {
        !q.producers
            .iter()
            .any(|p| by_producer[p.as_str()].len() >= 2)
    }) {
        candidates.push(Candidate {
            cause: Cause {
                kind: "service".into(),
                service: Some(q.consumer.clone()),
                summary: format!("{} rejects messages of {}", q.consumer, q.queue),
                explains: vec![format!("dead letters on {}", q.queue)],
                evidence: vec![format!(
                    "only {} dead-letters them ({:.1}/min)",
                    q.queue,
                    q.dead_letters_per_min.unwrap_or(0.0)
                )],
                ..Cause::default()
            },
            severity: 0.2,
            depth: 0,
        });
    }

    // Queues backing up: their consumer keeps up no more (unless the broker explains it).
    for q in m
        .queues
        .iter()
        .filter(|q| history.backing_up.contains(&q.queue))
    {
        let signal = format!("messages waiting on {}", q.queue);
        symptoms.push(format!(
            "{signal}: {:.0}, and growing",
            q.depth.unwrap_or(0.0)
        ));
        if broker_cut.contains(q.consumer.as_str()) {
            continue;
        }
        let mut explains: BTreeSet<String> = BTreeSet::from([signal]);
        if sick.contains(q.consumer.as_str()) {
            explains.insert(q.consumer.clone());
        }
        candidates.push(Candidate {
            cause: Cause {
                kind: "service".into(),
                service: Some(q.consumer.clone()),
                summary: format!(
                    "{} falls behind on {}: {:.0} messages waiting and growing",
                    q.consumer,
                    q.queue,
                    q.depth.unwrap_or(0.0)
                ),
                explains: explains.into_iter().collect(),
                evidence: vec![format!(
                    "{}: {:.0} waiting, consumed {:.1}/s, lag {}",
                    q.queue,
                    q.depth.unwrap_or(0.0),
                    q.rate,
                    q.lag_s
                        .map_or_else(|| "-".to_owned(), |l| format!("{l:.1} s"))
                )],
                ..Cause::default()
            },
            severity: 0.2,
            depth: 0,
        });
    }

    // Business KPIs only their owner moves.
    for (kpi, owner, what) in BUSINESS_OWNERS {
        let value = match *kpi {
            "carts_lost_per_min" => view.business.carts_lost_per_min,
            _ => 0.0,
        };
        if value > 0.0 {
            symptoms.push(format!("{what}: {value:.1}/min"));
            candidates.push(Candidate {
                cause: Cause {
                    kind: "business".into(),
                    service: Some((*owner).to_owned()),
                    summary: format!("{owner}: {what} {value:.1}/min"),
                    explains: vec![(*what).to_owned()],
                    evidence: vec![format!(
                        "{what} per minute is {value:.1} (only {owner} loses them)"
                    )],
                    ..Cause::default()
                },
                severity: 0.2,
                depth: 0,
            });
        }
    }

    if candidates.is_empty() && symptoms.is_empty() {
        return None;
    }
    for c in &mut candidates {
        c.cause.score = round(c.cause.explains.len() as f64 + c.severity);
    }
    candidates.sort_by(|a, b| {
        b.cause
            .score
            .total_cmp(&a.cause.score)
            .then(b.depth.cmp(&a.depth))
            .then_with(|| a.cause.service.cmp(&b.cause.service))
    });
    let mut causes: Vec<Cause> = candidates.into_iter().map(|c| c.cause).collect();

    let mut changes = changes_of(snapshot, &history.scaled);
    // Attributes of the top service candidates (the slow part: at most two services' spans).
    let since_ns = now_ns().saturating_sub(BASELINE.as_nanos() as u64);
    let recent_ns = now_ns().saturating_sub(RECENT.as_nanos() as u64);
    for cause in causes
        .iter_mut()
        .filter(|c| matches!(c.kind.as_str(), "service" | "link"))
        .take(2)
    {
        let Some(service) = cause.service.clone() else {
            continue;
        };
        let (attributes, versions) = attribute_deltas(
            store,
            &service,
            since_ns,
            recent_ns,
            thresholds.latency_objective_ms,
        );
        cause.attributes = attributes;
        for (version, first_ns) in versions {
            let change = Change {
                at: first_ns / 1_000_000,
                kind: "version".into(),
                service: Some(service.clone()),
                what: format!("{service} now answers as version {version}"),
            };
            if !changes.contains(&change) {
                changes.push(change);
            }
        }
    }
    changes.sort_by_key(|c| std::cmp::Reverse(c.at));
    for cause in &mut causes {
        for ch in &changes {
            if ch.service.is_some() && ch.service == cause.service {
                cause.evidence.push(format!(
                    "recent change: {} ({} s before)",
                    ch.what,
                    view.at.saturating_sub(ch.at) / 1000
                ));
            }
        }
    }
    Some(Diagnosis {
        at: view.at,
        symptoms,
        causes,
        changes,
    })
}

/// Median requests/s of the points [`BASELINE_GAP`] to 5 min before `now_ms` (a median, so a
/// burst at the stack's start does not raise it); None with fewer than [`BASELINE_POINTS`].
fn baseline_rps(series: &[SeriesPoint], now_ms: u64) -> Option<f64> {
    let from = now_ms.saturating_sub(BASELINE.as_millis() as u64);
    let to = now_ms.saturating_sub(BASELINE_GAP.as_millis() as u64);
    median_rps(series, from..=to, BASELINE_POINTS)
}

/// Median requests/s of the 1-second points of the last [`RECENT_RATE`]; None without one.
fn recent_rps(series: &[SeriesPoint], now_ms: u64) -> Option<f64> {
    let from = now_ms.saturating_sub(RECENT_RATE.as_millis() as u64);
    median_rps(
        series,
        (
            std::ops::Bound::Excluded(from),
            std::ops::Bound::Included(now_ms),
        ),
        1,
    )
}

/// Median requests/s of the points in `times`; None with fewer than `min_points`.
fn median_rps(
    series: &[SeriesPoint],
    times: impl std::ops::RangeBounds<u64>,
    min_points: usize,
) -> Option<f64> {
    let mut points: Vec<f64> = series
        .iter()
        .filter(|p| times.contains(&p.t))
        .map(|p| p.rps)
        .collect();
    if points.len() < min_points.max(1) {
        return None;
    }
    points.sort_by(f64::total_cmp);
    Some(points[points.len() / 2])
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Faults and drills set, and restarts, in the last [`CHANGES`], plus the scaling seen.
fn changes_of(snapshot: &Snapshot, scaled: &[Change]) -> Vec<Change> {
    let view = &snapshot.view;
    let since = view.at.saturating_sub(CHANGES.as_millis() as u64);
    let mut out: Vec<Change> = view
        .faults
        .iter()
        .filter(|f| f.start >= since)
        .map(|f| Change {
            at: f.start,
            kind: f.kind.clone(),
            service: f.service.clone(),
            what: format!("{} set: {}", f.kind, f.name),
        })
        .collect();
    for s in &view.services {
        if let Some(r) = s.reason.as_deref()
            && r.contains("restarted")
        {
            out.push(Change {
                at: view.at,
                kind: "restart".into(),
                service: Some(s.name.clone()),
                what: format!("{}: {r}", s.name),
            });
        }
    }
    out.extend(scaled.iter().cloned());
    out
}

/// Keys never ranked: the failure itself (status), the drills' own marker, ids that are
/// unique per request, and timing.
fn ranked(key: &str) -> bool {
    !(key.starts_with("otel.")
        || key == "apiary.fault"
        || key == "error.type"
        || key == "http.response.status_code"
        || key == "busy_ns"
        || key == "idle_ns"
        || key.ends_with(".message.id")
        || key == "thread.id"
        || key == "code.lineno")
}

/// Attribute values over-represented in `service`'s bad server spans (failed, or slower than
/// `slow_ms`) of the last [`RECENT`] against its good server spans since `since_ns`, and the
/// deployed versions its spans carry now that its older ones do not (with when first seen).
fn attribute_deltas(
    store: &Store,
    service: &str,
    since_ns: u64,
    recent_ns: u64,
    slow_ms: f64,
) -> (Vec<AttributeDelta>, Vec<(String, u64)>) {
    let Ok(spans) = store.spans.read() else {
        return (Vec::new(), Vec::new());
    };
    let mut bad: HashMap<(String, String), u64> = HashMap::new();
    let mut good: HashMap<(String, String), u64> = HashMap::new();
    let (mut n_bad, mut n_good) = (0u64, 0u64);
    let mut versions_recent: BTreeMap<String, u64> = BTreeMap::new();
    let mut versions_before: BTreeSet<String> = BTreeSet::new();
    for span in spans.newest(Some(service)).take(MAX_SPANS) {
        if span.end_unix_nano < since_ns {
            break;
        }
        if span.kind != SpanKind::Server {
            continue;
        }
        let is_bad = span.failed() || span.duration_nanos() as f64 / 1e6 >= slow_ms;
        let recent = span.end_unix_nano >= recent_ns;
        if is_bad && !recent {
            continue; // bad spans of the baseline are neither
        }
        let attrs = span.attributes.decode();
        let version = attrs
            .iter()
            .find(|a| &*a.key == "apiary.deployed_version")
            .and_then(|a| match &a.value {
                AttrValue::Str(v) => Some(v.to_string()),
                _ => None,
            });
        match (&version, recent) {
            (Some(v), true) => {
                let first = versions_recent.entry(v.clone()).or_insert(u64::MAX);
                *first = (*first).min(span.start_unix_nano);
            }
            (Some(v), false) => {
                versions_before.insert(v.clone());
            }
            _ => {}
        }
        let counts = if is_bad {
            n_bad += 1;
            &mut bad
        } else {
            n_good += 1;
            &mut good
        };
        for a in attrs.iter().filter(|a| ranked(&a.key)) {
            let value = match &a.value {
                AttrValue::Str(s) => s.to_string(),
                AttrValue::Int(i) => i.to_string(),
                AttrValue::Bool(b) => b.to_string(),
                AttrValue::Double(_) => continue,
            };
            *counts.entry((a.key.to_string(), value)).or_default() += 1;
        }
    }
    let mut out: Vec<AttributeDelta> = Vec::new();
    if n_bad > 0 {
        for ((key, value), count) in bad {
            if count < MIN_BAD_SPANS {
                continue;
            }
            let bad_share = count as f64 / n_bad as f64;
            let baseline_share = if n_good > 0 {
                good.get(&(key.clone(), value.clone()))
                    .copied()
                    .unwrap_or(0) as f64
                    / n_good as f64
            } else {
                0.0
            };
            if bad_share - baseline_share >= MIN_DELTA {
                out.push(AttributeDelta {
                    key,
                    value,
                    bad_share: round(bad_share),
                    baseline_share: round(baseline_share),
                    bad_spans: count,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        (b.bad_share - b.baseline_share)
            .total_cmp(&(a.bad_share - a.baseline_share))
            .then_with(|| a.key.cmp(&b.key))
            .then_with(|| a.value.cmp(&b.value))
    });
    out.truncate(5);
    let new_versions = versions_recent
        .into_iter()
        .filter(|(v, _)| !versions_before.contains(v))
        .collect();
    (out, new_versions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{Edge, ServiceDetail, ServiceView};

    fn svc(name: &str, health: Health, reason: &str) -> ServiceView {
        ServiceView {
            name: name.into(),
            health,
            reason: (!reason.is_empty()).then(|| reason.to_owned()),
            rps: 10.0,
            ..ServiceView::default()
        }
    }

    fn edge(from: &str, to: &str, error_rate: f64, p95: f64) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            rps: 5.0,
            error_rate,
            p95_ms: Some(p95),
            ..Edge::default()
        }
    }

    fn snapshot(services: Vec<ServiceView>, edges: Vec<Edge>) -> Snapshot {
        let mut s = Snapshot::empty(Default::default());
        s.view.at = 1_000_000;
        s.view.services = services;
        s.view.topology.edges = edges;
        s
    }

    fn top(s: &Snapshot) -> Cause {
        let store = Store::new(Default::default());
        diagnose(s, &store, &Thresholds::default(), &History::default())
            .expect("a diagnosis")
            .causes
            .into_iter()
            .next()
            .expect("a cause")
    }

    #[test]
    fn the_deepest_failing_dependency_explains_its_callers() {
        let s = snapshot(
            vec![
                svc("gateway", Health::Degraded, "error rate 8% >= 5%"),
                svc("checkout", Health::Degraded, "error rate 40% >= 5%"),
                svc("payment", Health::Degraded, "error rate 100% >= 5%"),
                svc("catalog", Health::Up, ""),
            ],
            vec![
                edge("gateway", "checkout", 0.4, 40.0),
                edge("gateway", "catalog", 0.0, 2.0),
                edge("checkout", "payment", 1.0, 30.0),
                edge("checkout", "catalog", 0.0, 2.0),
            ],
        );
        let c = top(&s);
        assert_eq!(
            (c.kind.as_str(), c.service.as_deref()),
            ("service", Some("payment"))
        );
        assert_eq!(c.explains, ["checkout", "gateway", "payment"]);
    }

    #[test]
    fn calls_failing_to_a_healthy_service_point_at_the_link() {
        let s = snapshot(
            vec![
                svc("checkout", Health::Degraded, "p95 2000 ms >= 500 ms"),
                svc("payment", Health::Up, ""),
            ],
            vec![edge("checkout", "payment", 0.9, 2000.0)],
        );
        let c = top(&s);
        assert_eq!(c.kind, "link");
        assert_eq!(c.service.as_deref(), Some("payment"));
        assert_eq!(c.peer.as_deref(), Some("checkout"));
    }

    #[test]
    fn a_surge_at_the_edge_explains_the_latency_below_it() {
        let mut s = snapshot(
            vec![
                ServiceView {
                    rps: 120.0,
                    ..svc("gateway", Health::Up, "")
                },
                svc("catalog", Health::Degraded, "p95 700 ms >= 500 ms"),
            ],
            vec![
                edge("gateway", "catalog", 0.0, 700.0),
                // The load generator is not watched: gateway is still the entry.
                edge("apiary-load", "gateway", 0.0, 20.0),
            ],
        );
        let series = (0..120)
            .map(|i| SeriesPoint {
                t: 1_000_000 - 200_000 + i * 1000,
                rps: 15.0,
                ..SeriesPoint::default()
            })
            .collect();
        s.details.insert(
            "gateway".into(),
            ServiceDetail {
                series,
                ..ServiceDetail::default()
            },
        );
        let c = top(&s);
        assert_eq!(
            (c.kind.as_str(), c.service.as_deref()),
            ("traffic", Some("gateway"))
        );
        assert!(c.explains.contains(&"catalog".to_owned()), "{c:?}");
    }

    /// Black Friday in the drills suite: the 1-second series the symptom is judged on showed
    /// 3x while the service's smoothed rate was still catching up.
    #[test]
    fn a_surge_is_judged_on_the_last_seconds_too() {
        let mut s = snapshot(
            vec![ServiceView {
                rps: 35.0,
                ..svc("gateway", Health::Up, "")
            }],
            vec![edge("apiary-load", "gateway", 0.0, 20.0)],
        );
        let mut series: Vec<SeriesPoint> = (0..120)
            .map(|i| SeriesPoint {
                t: 1_000_000 - 119_000 + i * 1000,
                rps: 15.0,
                ..SeriesPoint::default()
            })
            .collect();
        for p in series.iter_mut().rev().take(3) {
            p.rps = 60.0;
        }
        s.details.insert(
            "gateway".into(),
            ServiceDetail {
                series: series.clone(),
                ..ServiceDetail::default()
            },
        );
        let c = top(&s);
        assert_eq!(
            (c.kind.as_str(), c.service.as_deref()),
            ("traffic", Some("gateway"))
        );
        assert!(c.summary.contains("4.0x"), "{}", c.summary);
        // One busy second is not a surge.
        for p in series.iter_mut().rev().skip(1).take(2) {
            p.rps = 15.0;
        }
        s.details.get_mut("gateway").expect("gateway").series = series;
        let d = diagnose(
            &s,
            &Store::new(Default::default()),
            &Thresholds::default(),
            &History::default(),
        );
        assert!(
            d.as_ref()
                .is_none_or(|d| d.causes.iter().all(|c| c.kind != "traffic")),
            "{d:?}"
        );
    }

    #[test]
    fn a_burst_at_the_start_does_not_raise_the_baseline() {
        let mut series: Vec<SeriesPoint> = (0..20)
            .map(|i| SeriesPoint {
                t: 100_000 + i * 1000,
                rps: 10.0,
                ..SeriesPoint::default()
            })
            .collect();
        series[0].rps = 500.0;
        series[1].rps = 400.0;
        assert_eq!(baseline_rps(&series, 130_000), Some(10.0));
        assert_eq!(baseline_rps(&series[..3], 130_000), None);
    }

    #[test]
    fn services_cut_from_the_broker_point_at_the_broker() {
        let mut s = snapshot(
            vec![
                svc("orders", Health::Down, "not ready (503): broker"),
                svc("shipping", Health::Down, "not ready (503): broker"),
                svc("checkout", Health::Degraded, "error rate 20% >= 5%"),
            ],
            vec![edge("checkout", "orders", 0.2, 10.0)],
        );
        s.view
            .messaging
            .outbox_backlog
            .insert("orders".into(), 12.0);
        let c = top(&s);
        assert_eq!(c.kind, "broker");
        assert!(c.explains.contains(&"checkout".to_owned()), "{c:?}");
    }

    #[test]
    fn dead_letters_on_every_queue_of_a_producer_are_its_messages() {
        let mut s = snapshot(vec![svc("orders", Health::Up, "")], vec![]);
        for c in ["notifications", "shipping", "recommendations"] {
            s.view.messaging.queues.push(dashboard_api::QueueView {
                queue: format!("{c}.order-placed"),
                consumer: c.into(),
                producers: vec!["orders".into()],
                dead_letters_per_min: Some(4.0),
                ..dashboard_api::QueueView::default()
            });
        }
        let c = top(&s);
        assert_eq!(
            (c.kind.as_str(), c.service.as_deref()),
            ("messages", Some("orders"))
        );
        assert_eq!(c.explains.len(), 3);
    }

    #[test]
    fn a_queue_backing_up_points_at_its_consumer() {
        let mut s = snapshot(vec![svc("notifications", Health::Up, "")], vec![]);
        s.view.messaging.queues.push(dashboard_api::QueueView {
            queue: "notifications.order-placed".into(),
            consumer: "notifications".into(),
            producers: vec!["orders".into()],
            depth: Some(2.0),
            ..dashboard_api::QueueView::default()
        });
        let store = Store::new(Default::default());
        let mut watch = CauseWatch::default();
        s.view.at = 10_000;
        watch.apply(&mut s, &store, &Thresholds::default());
        assert_eq!(s.view.diagnosis, None, "two waiting is calm");
        s.view.at = 16_000;
        s.view.messaging.queues[0].depth = Some(6.0);
        watch.computed = None;
        watch.apply(&mut s, &store, &Thresholds::default());
        let c = s
            .view
            .diagnosis
            .as_ref()
            .and_then(|d| d.causes.first())
            .expect("a cause");
        assert_eq!(c.service.as_deref(), Some("notifications"), "{c:?}");
        assert!(c.summary.contains("falls behind"), "{}", c.summary);
    }

    #[test]
    fn lost_carts_are_carts_problem_and_calm_is_no_diagnosis() {
        let mut s = snapshot(vec![svc("cart", Health::Up, "")], vec![]);
        let store = Store::new(Default::default());
        assert_eq!(
            diagnose(&s, &store, &Thresholds::default(), &History::default()),
            None
        );
        s.view.business.carts_lost_per_min = 40.0;
        let c = top(&s);
        assert_eq!(
            (c.kind.as_str(), c.service.as_deref()),
            ("business", Some("cart"))
        );
    }
}
