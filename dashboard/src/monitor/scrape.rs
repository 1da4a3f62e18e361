//! The scrape loop: every tick, each target's `/metrics` is scraped and its `/health/ready`
//! probed at once, the results folded into what is kept of it (series, readiness, memory,
//! restarts), and a snapshot published.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_chassis::balance::{Discovery, resolve};
use tokio::sync::watch;

use super::WINDOW_POINTS;
use super::annotations::Annotations;
use super::health::Thresholds;
use super::messaging::{MessagingWatch, parse_broker};
use super::series::{Point, push_interval};
use super::slo::SloTracker;
use super::snapshot::{Snapshot, build};
use super::topology::SpanGraph;
use super::{PROBE_TIMEOUT, now_ms, round};
use crate::red::{self, Interval, Scraped};
use crate::store::Store;

/// A service to watch.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub name: String,
    pub base_url: String,
    /// Its objectives (apiary.toml's `[slo]` and its own `slo = {...}`).
    pub slo: apiary_manifest::Slo,
}

/// What the loop keeps of one instance of a target.
pub(super) struct InstanceState {
    pub(super) id: String,
    pub(super) url: String,
    previous: Option<Scraped>,
    last_scrape: Option<Instant>,
    /// Its own newest points (its RED "now").
    pub(super) points: VecDeque<Point>,
    pub(super) ready: Option<Result<(), NotReady>>,
    /// Whether its last `/metrics` scrape worked.
    metrics_ok: bool,
    pub(super) memory: Option<f64>,
    pub(super) restarts: u32,
    pub(super) last_restart: Option<Instant>,
}

impl InstanceState {
    fn new(id: String, url: String) -> Self {
        Self {
            id,
            url,
            previous: None,
            last_scrape: None,
            points: VecDeque::new(),
            ready: None,
            metrics_ok: false,
            memory: None,
            restarts: 0,
            last_restart: None,
        }
    }
}

/// What the loop keeps of one target from tick to tick: the service (its instances summed)
/// and each instance.
pub(super) struct Watched {
    pub(super) target: Target,
    pub(super) points: VecDeque<Point>,
    pub(super) last_seen: Option<u64>,
    /// Ok when an instance is ready, else why the first one is not; None before any probe.
    pub(super) ready: Option<Result<(), NotReady>>,
    pub(super) metrics_ok: bool,
    /// The largest instance's resident memory.
    pub(super) memory: Option<f64>,
    /// Restarts of every instance.
    pub(super) restarts: u32,
    pub(super) last_restart: Option<Instant>,
    pub(super) instances: Vec<InstanceState>,
    pub(super) slo: SloTracker,
}

impl Watched {
    fn new(target: Target) -> Self {
        Self {
            instances: vec![InstanceState::new(
                target.name.clone(),
                target.base_url.clone(),
            )],
            slo: SloTracker::new(target.slo),
            target,
            points: VecDeque::new(),
            last_seen: None,
            ready: None,
            metrics_ok: false,
            memory: None,
            restarts: 0,
            last_restart: None,
        }
    }

    /// Keeps the instances in `found` (what each was already known by), adds new ones, drops
    /// the ones gone.
    fn sync(&mut self, found: Vec<apiary_wire::discovery::Instance>) {
        let mut old = std::mem::take(&mut self.instances);
        for apiary_wire::discovery::Instance { id, url } in found {
            match old.iter().position(|i| i.id == id && i.url == url) {
                Some(at) => self.instances.push(old.swap_remove(at)),
                None => self.instances.push(InstanceState::new(id, url)),
            }
        }
    }
}

/// Why a service's readiness probe failed (its text is the health reason shown).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    #[error("readiness probe timed out")]
    TimedOut,
    #[error("unreachable")]
    Unreachable,
    /// It answered, not ready: the status and the checks its body names as failed.
    #[error("not ready ({status}){}", if failed.is_empty() { String::new() } else { format!(": {}", failed.join(", ")) })]
    Failed {
        status: reqwest::StatusCode,
        failed: Vec<String>,
    },
}

/// Why a scrape of `/metrics` gave nothing (its series keep a gap).
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("/metrics did not answer: {0}")]
    Unreachable(#[source] reqwest::Error),
    #[error("/metrics answered {0}")]
    Status(reqwest::StatusCode),
    #[error(transparent)]
    Parse(#[from] red::ParseError),
}

/// Runs the loop until the sender has no receivers left.
#[allow(clippy::too_many_arguments)] // the loop's inputs, each from its own place
pub async fn run(
    targets: Vec<Target>,
    instances: Discovery,
    store: Arc<Store>,
    thresholds: Thresholds,
    every: Duration,
    annotations: Arc<Annotations>,
    mut messaging: MessagingWatch,
    tx: watch::Sender<Arc<Snapshot>>,
) {
    let client = match reqwest::Client::builder().timeout(PROBE_TIMEOUT).build() {
        Ok(c) => c,
        Err(err) => {
            tracing::error!(error = %err, "cannot build the scrape client; health and RED are off");
            return;
        }
    };
    let mut watched: Vec<Watched> = targets.into_iter().map(Watched::new).collect();
    let mut graph = SpanGraph::default();
    let mut causes = super::cause::CauseWatch::default();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let found = futures_util::future::join_all(
            watched
                .iter()
                .map(|w| resolve(&instances, &w.target.name, &w.target.base_url)),
        )
        .await;
        for (w, found) in watched.iter_mut().zip(found) {
            w.sync(found);
        }
        let broker_url = messaging.broker_url();
        let (results, broker) = tokio::join!(
            futures_util::future::join_all(
                watched
                    .iter()
                    .flat_map(|w| w.instances.iter())
                    .map(|i| poll(&client, &i.url))
            ),
            poll_broker(&client, broker_url.as_deref()),
        );
        let t_ms = now_ms();
        if let Some(broker) = broker {
            messaging.broker_scraped(t_ms, broker);
        }
        let mut results = results.into_iter();
        for w in &mut watched {
            let now = Instant::now();
            let mut sum: Option<(Interval, f64)> = None;
            for i in &mut w.instances {
                let Some((metrics, ready)) = results.next() else {
                    break;
                };
                if ready.is_ok() || metrics.is_ok() {
                    w.last_seen = Some(t_ms);
                }
                i.ready = Some(ready);
                // Keep the series; a failed scrape marks the gap by adding no point.
                let Ok(scraped) = metrics else {
                    i.metrics_ok = false;
                    continue;
                };
                i.metrics_ok = true;
                if let (Some(prev), Some(at)) = (&i.previous, i.last_scrape) {
                    let secs = now.duration_since(at).as_secs_f64();
                    let interval = red::interval(&scraped, prev);
                    let total = sum.get_or_insert_with(|| (Interval::default(), 0.0));
                    total.0.add(&interval);
                    total.1 = total.1.max(secs);
                    push_interval(&mut i.points, t_ms, secs, interval);
                    while i.points.len() > WINDOW_POINTS + 1 {
                        i.points.pop_front();
                    }
                }
                i.memory = scraped.resident_bytes.map(|b| round(b / 1_048_576.0));
                messaging.scraped(&w.target.name, t_ms, &scraped);
                if restarted_between(i.previous.as_ref(), &scraped) {
                    i.restarts += 1;
                    i.last_restart = Some(now);
                    tracing::warn!(
                        service = %w.target.name,
                        instance = %i.id,
                        restarts = i.restarts,
                        "the service restarted since the last scrape"
                    );
                }
                i.previous = Some(scraped);
                i.last_scrape = Some(now);
            }
            if let Some((interval, secs)) = sum {
                w.slo.add(t_ms, &interval.total);
                push_interval(&mut w.points, t_ms, secs, interval);
            }
            w.fold_instances();
        }
        let mut snapshot = build(&watched, &store, &mut graph, &thresholds, t_ms);
        snapshot.view.faults = annotations.recent(t_ms);
        messaging.apply(&mut snapshot);
        causes.apply(&mut snapshot, &store, &thresholds);
        if tx.send(Arc::new(snapshot)).is_err() {
            return;
        }
    }
}

impl Watched {
    /// The service's readiness, memory and restarts from its instances'.
    fn fold_instances(&mut self) {
        let probed: Vec<&Result<(), NotReady>> = self
            .instances
            .iter()
            .filter_map(|i| i.ready.as_ref())
            .collect();
        self.ready = if probed.iter().any(|r| r.is_ok()) {
            Some(Ok(()))
        } else {
            probed.first().map(|r| (*r).clone())
        };
        self.metrics_ok = self.instances.iter().any(|i| i.metrics_ok);
        self.memory = self
            .instances
            .iter()
            .filter_map(|i| i.memory)
            .reduce(f64::max);
        self.restarts = self
            .restarts
            .max(self.instances.iter().map(|i| i.restarts).sum());
        self.last_restart = self.instances.iter().filter_map(|i| i.last_restart).max();
    }
}

/// The broker's per-queue metrics, when there is a broker to ask.
async fn poll_broker(
    client: &reqwest::Client,
    url: Option<&str>,
) -> Option<Result<std::collections::HashMap<String, super::messaging::QueueStats>, String>> {
    let url = url?;
    let page = async {
        let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("answered {}", resp.status()));
        }
        let text = resp.text().await.map_err(|e| e.to_string())?;
        parse_broker(&text).map_err(|e| e.to_string())
    };
    Some(page.await)
}

async fn poll(
    client: &reqwest::Client,
    base_url: &str,
) -> (Result<Scraped, ScrapeError>, Result<(), NotReady>) {
    let metrics = async {
        let resp = client
            .get(format!("{base_url}/metrics"))
            .send()
            .await
            .map_err(ScrapeError::Unreachable)?;
        if !resp.status().is_success() {
            return Err(ScrapeError::Status(resp.status()));
        }
        let text = resp.text().await.map_err(ScrapeError::Unreachable)?;
        Ok(red::parse(&text)?)
    };
    let ready = async {
        match client.get(format!("{base_url}/health/ready")).send().await {
            Err(e) if e.is_timeout() => Err(NotReady::TimedOut),
            Err(_) => Err(NotReady::Unreachable),
            Ok(resp) if resp.status().is_success() => Ok(()),
            Ok(resp) => {
                let status = resp.status();
                let failed = resp
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| {
                        v["failed"].as_array().map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect::<Vec<_>>()
                        })
                    })
                    .unwrap_or_default();
                Err(NotReady::Failed { status, failed })
            }
        }
    };
    tokio::join!(metrics, ready)
}

/// Whether the process behind a target is a new one: its exported start time moved. (Counter
/// resets are not used: a service that has served nothing yet resets nothing.)
fn restarted_between(previous: Option<&Scraped>, now: &Scraped) -> bool {
    match (previous.and_then(|p| p.start_time), now.start_time) {
        (Some(before), Some(after)) => (after - before).abs() >= 0.001,
        _ => false,
    }
}

/// How the scraper finds every target's instances for this manifest (the callers' way): every
/// address of the name (`dns`), else the launcher's endpoints files when the data directory is
/// known, else the manifest's URL alone.
pub fn instances_for(
    manifest: &apiary_manifest::Manifest,
    data_dir: Option<&std::path::Path>,
) -> Discovery {
    match (manifest.stack.addresses, data_dir) {
        (apiary_manifest::Addresses::Dns, _) => Discovery::Dns,
        (apiary_manifest::Addresses::Host, Some(dir)) => {
            Discovery::File(dir.join(apiary_wire::discovery::ENDPOINTS_DIR))
        }
        (apiary_manifest::Addresses::Host, None) => Discovery::Static,
    }
}

/// Targets from the stack manifest: every service.
pub fn targets_from_manifest(manifest: &apiary_manifest::Manifest) -> Vec<Target> {
    manifest
        .services
        .iter()
        .map(|s| Target {
            name: s.name.clone(),
            base_url: manifest.url(s),
            slo: manifest.slo(s),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_probe_says_why_as_the_health_reason() {
        let failed = NotReady::Failed {
            status: reqwest::StatusCode::SERVICE_UNAVAILABLE,
            failed: vec!["store".into(), "catalog".into()],
        };
        assert_eq!(
            failed.to_string(),
            "not ready (503 Service Unavailable): store, catalog"
        );
        let bare = NotReady::Failed {
            status: reqwest::StatusCode::SERVICE_UNAVAILABLE,
            failed: Vec::new(),
        };
        assert_eq!(bare.to_string(), "not ready (503 Service Unavailable)");
        assert_eq!(NotReady::TimedOut.to_string(), "readiness probe timed out");
    }

    #[test]
    fn a_moved_start_time_is_a_restart() {
        let at = |t: Option<f64>| Scraped {
            start_time: t,
            ..Scraped::default()
        };
        assert!(restarted_between(Some(&at(Some(100.0))), &at(Some(160.5))));
        assert!(!restarted_between(Some(&at(Some(100.0))), &at(Some(100.0))));
        assert!(!restarted_between(None, &at(Some(100.0))), "first scrape");
        assert!(
            !restarted_between(Some(&at(None)), &at(None)),
            "not exported"
        );
    }
}
