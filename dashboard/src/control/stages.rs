//! Time to detect, stage by stage: the flag changed -> the first affected request was served
//! (its span ended) -> that span reached the dashboard -> the 1-second series crossed the
//! symptom's threshold -> the watched service's health changed -> a browser showed it.
//!
//! The first affected request is the first span of the fault's service that carries
//! `apiary.fault` (the store watches for it at ingest); the series and health stages are the
//! `at` of the first snapshot that showed them (not when the runner looked); the UI stage is
//! the first browser report ([`crate::seen`]) for that snapshot or a later one.

use std::sync::Arc;

use dashboard_api::{DetectionStages, Health, Stage};

use crate::monitor::Snapshot;
use crate::seen::SeenLog;
use crate::store::Store;

/// What the stages are read from.
#[derive(Debug, Clone)]
pub struct Sight {
    pub store: Arc<Store>,
    pub seen: Arc<SeenLog>,
}

/// The stages of one drill's first fault, as they are reached.
#[derive(Debug)]
pub struct StageTracker {
    sight: Sight,
    /// When the flag changed (Unix ms), the fault's service, the store's watch.
    flag_ms: u64,
    service: Option<String>,
    watch: Option<u64>,
    /// Whether the fault acts on requests (so that a request shows it).
    on_requests: bool,
    crossed: Option<u64>,
    health: Option<u64>,
}

impl StageTracker {
    /// Starts at the flag change of a fault on `service` (None: no one service).
    pub fn start(sight: Sight, flag_ms: u64, service: Option<String>, on_requests: bool) -> Self {
        let watch = service.as_deref().filter(|_| on_requests).map(|s| {
            sight
                .store
                .watch_faulted(s, flag_ms.saturating_mul(1_000_000))
        });
        Self {
            sight,
            flag_ms,
            service,
            watch,
            on_requests,
            crossed: None,
            health: None,
        }
    }

    /// Notes what `snap` shows: the symptom (`holds`) and the service's health.
    pub fn observe(&mut self, snap: &Snapshot, holds: bool) {
        let at = snap.view.at;
        if holds && self.crossed.is_none() {
            self.crossed = Some(at);
        }
        if self.health.is_none()
            && let Some(s) = &self.service
            && snap
                .view
                .service(s)
                .is_some_and(|v| matches!(v.health, Health::Degraded | Health::Down))
        {
            self.health = Some(at);
        }
    }

    /// The breakdown as it stands (the store's watch is released).
    pub fn finish(self) -> DetectionStages {
        let first = self.watch.and_then(|w| {
            let f = self.sight.store.faulted(w);
            self.sight.store.unwatch(w);
            f
        });
        let since = |unix_ms: u64| unix_ms.saturating_sub(self.flag_ms);
        let ui = self
            .health
            .or(self.crossed)
            .and_then(|at| self.sight.seen.shown_since(at));
        let request_note = if self.on_requests {
            "no affected request's span arrived"
        } else {
            "the fault acts on no request (a probe, a store, the process, the broker)"
        };
        let raw: Vec<(&str, Option<u64>, Option<&str>)> = vec![
            ("flag changed", Some(0), None),
            (
                "first affected request served",
                first.map(|f| since(f.end_unix_nano / 1_000_000)),
                first.is_none().then_some(request_note),
            ),
            (
                "its span received by the dashboard",
                first.map(|f| since(f.received_unix_ms)),
                first.is_none().then_some(request_note),
            ),
            (
                "the 1-second series crossed the threshold",
                self.crossed.map(since),
                self.crossed.is_none().then_some("the symptom never showed"),
            ),
            (
                "health changed",
                self.health.map(since),
                self.health
                    .is_none()
                    .then_some("the watched service stayed up (a signal, not a health, symptom)"),
            ),
            (
                "the UI showed it",
                ui.map(since),
                ui.is_none()
                    .then_some("no browser reported showing it (none open on the dashboard)"),
            ),
        ];
        let mut stages = Vec::new();
        let mut last: Option<u64> = None;
        let mut dominant: Option<(String, u64)> = None;
        for (name, at, note) in raw {
            let step = match (at, last) {
                (Some(a), Some(l)) => Some(a.saturating_sub(l)),
                _ => None,
            };
            if let Some(st) = step
                && dominant.as_ref().is_none_or(|(_, d)| st > *d)
            {
                dominant = Some((name.to_owned(), st));
            }
            if at.is_some() {
                last = at.max(last);
            }
            stages.push(Stage {
                name: name.to_owned(),
                at_ms: at,
                step_ms: step,
                note: note.map(str::to_owned),
            });
        }
        let export_ms = first.map(|f| {
            f.received_unix_ms
                .saturating_sub(f.end_unix_nano / 1_000_000)
        });
        DetectionStages {
            stages,
            dominant: dominant.map(|(n, _)| n),
            export_ms,
            note: "Health reads scrapes taken every 500 ms over a 5-second window; spans reach \
                   the dashboard in the SDK's export batches; each snapshot is published right \
                   after its scrape."
                .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::ServiceView;

    fn snap(at: u64, health: Health) -> Snapshot {
        let mut s = Snapshot::empty(Default::default());
        s.view.at = at;
        s.view.services.push(ServiceView {
            name: "payment".into(),
            health,
            ..ServiceView::default()
        });
        s
    }

    #[test]
    fn each_stage_is_timed_from_the_flag_and_the_longest_step_dominates() {
        let sight = Sight {
            store: Store::new(Default::default()),
            seen: Arc::new(SeenLog::default()),
        };
        let flag = 1_000_000;
        let mut t = StageTracker::start(sight.clone(), flag, Some("payment".into()), true);
        t.observe(&snap(flag + 400, Health::Up), false);
        t.observe(&snap(flag + 900, Health::Degraded), true);
        t.observe(&snap(flag + 1400, Health::Degraded), true);
        sight.seen.note(flag + 900, flag + 1_000);
        let d = t.finish();
        let at: Vec<Option<u64>> = d.stages.iter().map(|s| s.at_ms).collect();
        assert_eq!(at, [Some(0), None, None, Some(900), Some(900), Some(1000)]);
        assert_eq!(
            d.dominant.as_deref(),
            Some("the 1-second series crossed the threshold")
        );
        assert!(
            d.stages[1]
                .note
                .as_deref()
                .is_some_and(|n| n.contains("no affected"))
        );
        assert_eq!(d.stages[5].step_ms, Some(100));
    }

    #[test]
    fn without_a_browser_or_a_request_the_stages_say_why() {
        let sight = Sight {
            store: Store::new(Default::default()),
            seen: Arc::new(SeenLog::default()),
        };
        let t = StageTracker::start(sight, 5_000, Some("orders".into()), false);
        let d = t.finish();
        assert!(
            d.stages[1]
                .note
                .as_deref()
                .is_some_and(|n| n.contains("acts on no request"))
        );
        assert!(
            d.stages[5]
                .note
                .as_deref()
                .is_some_and(|n| n.contains("browser"))
        );
        assert_eq!(d.export_ms, None);
    }
}
