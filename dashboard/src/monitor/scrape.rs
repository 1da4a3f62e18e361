//! The scrape loop: every tick, each target's `/metrics` is scraped and its `/health/ready`
//! probed at once, the results folded into what is kept of it (series, readiness, memory,
//! restarts), and a snapshot published.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::annotations::Annotations;
use super::health::Thresholds;
use super::messaging::{MessagingWatch, parse_broker};
use super::series::{Point, push_interval};
use super::snapshot::{Snapshot, build};
use super::topology::SpanGraph;
use super::{PROBE_TIMEOUT, now_ms, round};
use crate::red::{self, Scraped};
use crate::store::Store;

/// A service to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub base_url: String,
}

/// What the loop keeps of one target from tick to tick.
pub(super) struct Watched {
    pub(super) target: Target,
    pub(super) previous: Option<Scraped>,
    pub(super) points: VecDeque<Point>,
    pub(super) last_seen: Option<u64>,
    /// Ok, or why the last probe failed; None before the first probe.
    pub(super) ready: Option<Result<(), NotReady>>,
    pub(super) metrics_ok: bool,
    pub(super) last_scrape: Option<Instant>,
    pub(super) memory: Option<f64>,
    pub(super) restarts: u32,
    pub(super) last_restart: Option<Instant>,
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
pub async fn run(
    targets: Vec<Target>,
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
    let mut watched: Vec<Watched> = targets
        .into_iter()
        .map(|target| Watched {
            target,
            previous: None,
            points: VecDeque::new(),
            last_seen: None,
            ready: None,
            metrics_ok: false,
            last_scrape: None,
            memory: None,
            restarts: 0,
            last_restart: None,
        })
        .collect();
    let mut graph = SpanGraph::default();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let broker_url = messaging.broker_url();
        let (results, broker) = tokio::join!(
            futures_util::future::join_all(watched.iter().map(|w| poll(&client, &w.target))),
            poll_broker(&client, broker_url.as_deref()),
        );
        let t_ms = now_ms();
        if let Some(broker) = broker {
            messaging.broker_scraped(t_ms, broker);
        }
        for (w, (metrics, ready)) in watched.iter_mut().zip(results) {
            let now = Instant::now();
            if ready.is_ok() || metrics.is_ok() {
                w.last_seen = Some(t_ms);
            }
            w.ready = Some(ready);
            match metrics {
                Ok(scraped) => {
                    if let (Some(prev), Some(at)) = (&w.previous, w.last_scrape) {
                        push_interval(
                            &mut w.points,
                            t_ms,
                            now.duration_since(at).as_secs_f64(),
                            red::interval(&scraped, prev),
                        );
                    }
                    w.memory = scraped.resident_bytes.map(|b| round(b / 1_048_576.0));
                    messaging.scraped(&w.target.name, t_ms, &scraped);
                    if restarted_between(w.previous.as_ref(), &scraped) {
                        w.restarts += 1;
                        w.last_restart = Some(now);
                        tracing::warn!(
                            service = %w.target.name,
                            restarts = w.restarts,
                            "the service restarted since the last scrape"
                        );
                    }
                    w.previous = Some(scraped);
                    w.last_scrape = Some(now);
                    w.metrics_ok = true;
                }
                Err(_) => {
                    // Keep the series; mark the gap by not adding a point.
                    w.metrics_ok = false;
                }
            }
        }
        let mut snapshot = build(&watched, &store, &mut graph, &thresholds, t_ms);
        snapshot.view.faults = annotations.recent(t_ms);
        messaging.apply(&mut snapshot);
        if tx.send(Arc::new(snapshot)).is_err() {
            return;
        }
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
    target: &Target,
) -> (Result<Scraped, ScrapeError>, Result<(), NotReady>) {
    let metrics = async {
        let resp = client
            .get(format!("{}/metrics", target.base_url))
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
        match client
            .get(format!("{}/health/ready", target.base_url))
            .send()
            .await
        {
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

/// Targets from the stack manifest: every service.
pub fn targets_from_manifest(manifest: &apiary_manifest::Manifest) -> Vec<Target> {
    manifest
        .services
        .iter()
        .map(|s| Target {
            name: s.name.clone(),
            base_url: manifest.url(s),
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
