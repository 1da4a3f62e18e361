//! Health judgement: a service is up, degraded, down or unknown, from its readiness probe,
//! recent restarts, RED and memory against the [`Thresholds`].

use std::time::Duration;

use serde::Serialize;

use super::scrape::NotReady;
use super::{Health, Latency};

/// When a service counts as degraded. Documented in the dashboard README.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// 5xx share of requests at or above which a service is degraded.
    pub error_ratio: f64,
    /// p95 (ms) at or above which a service is degraded.
    pub latency_objective_ms: f64,
    /// Below this request rate the error ratio is not judged (too few requests to mean much).
    pub min_rps: f64,
    /// Resident memory (MiB) at or above which a service is degraded.
    pub memory_mib: f64,
    /// For this long (seconds) after a restart was seen, a service counts as degraded: a
    /// process that crashes and comes back within a second is up at every probe, and a crash
    /// loop would otherwise never show.
    pub restart_hold_s: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            error_ratio: 0.05,
            latency_objective_ms: 500.0,
            min_rps: 0.2,
            memory_mib: 96.0,
            restart_hold_s: 10.0,
        }
    }
}

/// A restart seen between two scrapes: how many so far, how long ago the last one was.
#[derive(Debug, Clone, Copy)]
pub struct Restarted {
    pub count: u32,
    pub ago: Duration,
}

/// Judges health from the probe, restarts and RED.
pub fn judge(
    ready: Option<&Result<(), NotReady>>,
    restarted: Option<Restarted>,
    rps: f64,
    error_rate: f64,
    latency: &Latency,
    memory_mib: Option<f64>,
    t: &Thresholds,
) -> (Health, Option<String>) {
    match ready {
        None => (Health::Unknown, Some("no probe answer yet".into())),
        Some(Err(why)) => (Health::Down, Some(why.to_string())),
        Some(Ok(())) => {
            if let Some(r) = restarted
                && r.ago.as_secs_f64() < t.restart_hold_s
            {
                return (
                    Health::Degraded,
                    Some(format!(
                        "restarted {:.0} s ago ({} restart{} seen)",
                        r.ago.as_secs_f64(),
                        r.count,
                        if r.count == 1 { "" } else { "s" }
                    )),
                );
            }
            if rps >= t.min_rps && error_rate >= t.error_ratio {
                return (
                    Health::Degraded,
                    Some(format!(
                        "error rate {:.1}% >= {:.1}%",
                        error_rate * 100.0,
                        t.error_ratio * 100.0
                    )),
                );
            }
            if let Some(p95) = latency.p95
                && p95 >= t.latency_objective_ms
            {
                return (
                    Health::Degraded,
                    Some(format!(
                        "p95 {p95:.0} ms >= {:.0} ms",
                        t.latency_objective_ms
                    )),
                );
            }
            if let Some(mib) = memory_mib
                && mib >= t.memory_mib
            {
                return (
                    Health::Degraded,
                    Some(format!("memory {mib:.0} MiB >= {:.0} MiB", t.memory_mib)),
                );
            }
            (Health::Up, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_probe_then_thresholds() {
        let t = Thresholds::default();
        let fast = Latency {
            p50: Some(5.0),
            p95: Some(10.0),
            p99: Some(20.0),
        };
        let slow = Latency {
            p95: Some(900.0),
            ..fast
        };
        assert_eq!(
            judge(None, None, 0.0, 0.0, &fast, None, &t).0,
            Health::Unknown
        );
        assert_eq!(
            judge(
                Some(&Err(NotReady::Unreachable)),
                None,
                10.0,
                0.0,
                &fast,
                None,
                &t
            )
            .0,
            Health::Down
        );
        assert_eq!(
            judge(Some(&Ok(())), None, 10.0, 0.0, &fast, None, &t).0,
            Health::Up
        );
        assert_eq!(
            judge(Some(&Ok(())), None, 10.0, 0.2, &fast, None, &t).0,
            Health::Degraded
        );
        assert_eq!(
            judge(Some(&Ok(())), None, 0.1, 0.5, &fast, None, &t).0,
            Health::Up,
            "too few requests to judge"
        );
        let (h, why) = judge(Some(&Ok(())), None, 10.0, 0.0, &fast, Some(200.0), &t);
        assert_eq!(h, Health::Degraded);
        assert!(why.is_some_and(|w| w.contains("memory 200 MiB")));
        assert_eq!(
            judge(Some(&Ok(())), None, 10.0, 0.0, &fast, Some(20.0), &t).0,
            Health::Up
        );
        let (h, why) = judge(Some(&Ok(())), None, 10.0, 0.0, &slow, None, &t);
        assert_eq!(h, Health::Degraded);
        assert!(why.unwrap_or_default().contains("p95"));
    }

    #[test]
    fn a_recent_restart_degrades_until_the_hold_has_passed() {
        let t = Thresholds::default();
        let fast = Latency {
            p50: Some(5.0),
            p95: Some(10.0),
            p99: Some(20.0),
        };
        let restarted = |secs| {
            Some(Restarted {
                count: 2,
                ago: Duration::from_secs(secs),
            })
        };
        let (h, why) = judge(Some(&Ok(())), restarted(3), 10.0, 0.0, &fast, None, &t);
        assert_eq!(h, Health::Degraded);
        assert_eq!(why.as_deref(), Some("restarted 3 s ago (2 restarts seen)"));
        assert_eq!(
            judge(Some(&Ok(())), restarted(11), 10.0, 0.0, &fast, None, &t).0,
            Health::Up,
            "the hold is over"
        );
        assert_eq!(
            judge(
                Some(&Err(NotReady::Unreachable)),
                restarted(1),
                10.0,
                0.0,
                &fast,
                None,
                &t
            )
            .0,
            Health::Down,
            "down while it is away"
        );
    }
}
