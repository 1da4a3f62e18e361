//! Service level objectives, live: each watched service's availability SLO (requests answered
//! without a 5xx) and latency SLO (answered within its threshold, one of the latency
//! histogram's bucket bounds), from the same per-scrape counts as the 1-second series.
//!
//! Burn rate = bad share over a window / (1 - objective): at 1 the error budget lasts exactly
//! the SLO period. The alerts are the multi-window ones of `prometheus/rules/slo.rules.yml`
//! (one definition, apiary.toml's, both places): the drill tier (5 min and 30 s over 14.4) and
//! the fast tier (1 h and 5 min over 14.4, or 6 h and 30 min over 6). The slow tier's 1-day and
//! 3-day windows are longer than the dashboard keeps (6 h of minute totals) and stay
//! Prometheus's.

use std::collections::VecDeque;

use apiary_manifest::Slo;
use dashboard_api::{BurnAlert, SloStatus};

use super::round;
use crate::red::Delta;

/// Second-resolution counts are kept this long (the 30-s and 5-min windows).
const FINE_MS: u64 = 5 * 60_000;
/// Minute totals are kept this long (the 30-min, 1-h and 6-h windows, and the budget).
const COARSE_MS: u64 = 6 * 3_600_000;
const MINUTE_MS: u64 = 60_000;

/// Requests, 5xx answers and answers slower than the latency threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Counts {
    requests: f64,
    errors: f64,
    slow: f64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.slow += o.slow;
    }
}

/// One service's objectives and the counts they are judged on.
#[derive(Debug)]
pub(super) struct SloTracker {
    slo: Slo,
    /// `(t_ms, counts)` per scrape, for [`FINE_MS`].
    fine: VecDeque<(u64, Counts)>,
    /// `(minute start ms, counts)`, for [`COARSE_MS`]; the newest is still filling.
    coarse: VecDeque<(u64, Counts)>,
    total: Counts,
    /// When the first counts came (how far back the budget can look).
    first_ms: Option<u64>,
}

impl SloTracker {
    pub(super) fn new(slo: Slo) -> Self {
        Self {
            slo,
            fine: VecDeque::new(),
            coarse: VecDeque::new(),
            total: Counts::default(),
            first_ms: None,
        }
    }

    /// Takes one scrape's change (summed over the service's instances) at `t_ms`.
    pub(super) fn add(&mut self, t_ms: u64, delta: &Delta) {
        let c = Counts {
            requests: delta.requests,
            errors: delta.errors,
            slow: (delta.requests - within(delta, self.slo.latency_threshold_ms)).max(0.0),
        };
        self.first_ms.get_or_insert(t_ms);
        self.total.add(&c);
        self.fine.push_back((t_ms, c));
        while self
            .fine
            .front()
            .is_some_and(|(t, _)| t_ms.saturating_sub(*t) > FINE_MS)
        {
            self.fine.pop_front();
        }
        let minute = t_ms - t_ms % MINUTE_MS;
        match self.coarse.back_mut() {
            Some((m, counts)) if *m == minute => counts.add(&c),
            _ => self.coarse.push_back((minute, c)),
        }
        while self
            .coarse
            .front()
            .is_some_and(|(m, _)| t_ms.saturating_sub(*m) > COARSE_MS)
        {
            self.coarse.pop_front();
        }
    }

    /// Counts of the last `ms` before `now_ms`: from the per-scrape counts when they reach
    /// back that far, else from the minute totals (whole minutes, the current one included).
    fn window(&self, now_ms: u64, ms: u64) -> Counts {
        let since = now_ms.saturating_sub(ms);
        let mut sum = Counts::default();
        if ms <= FINE_MS {
            for (_, c) in self.fine.iter().filter(|(t, _)| *t > since) {
                sum.add(c);
            }
        } else {
            for (_, c) in self.coarse.iter().filter(|(m, _)| m + MINUTE_MS > since) {
                sum.add(c);
            }
        }
        sum
    }

    /// Both objectives as the API shows them at `now_ms`.
    pub(super) fn status(&self, now_ms: u64) -> Vec<SloStatus> {
        let held_ms = self
            .first_ms
            .map_or(0, |first| now_ms.saturating_sub(first).min(COARSE_MS));
        [Kind::Availability, Kind::Latency]
            .into_iter()
            .map(|kind| {
                let objective = kind.objective(&self.slo);
                let budget = 1.0 - objective;
                let burn = |ms: u64| {
                    let c = self.window(now_ms, ms);
                    (c.requests > 0.0).then(|| round(kind.bad(&c) / c.requests / budget))
                };
                let (b30s, b5m, b30m, b1h, b6h) = (
                    burn(30_000),
                    burn(300_000),
                    burn(1_800_000),
                    burn(3_600_000),
                    burn(COARSE_MS),
                );
                SloStatus {
                    slo: kind.name().to_owned(),
                    objective,
                    threshold_ms: (kind == Kind::Latency).then_some(self.slo.latency_threshold_ms),
                    burn_30s: b30s,
                    burn_5m: b5m,
                    burn_30m: b30m,
                    burn_1h: b1h,
                    burn_6h: b6h,
                    budget_remaining: b6h.map(|b| round(1.0 - b)),
                    budget_window_s: held_ms / 1000,
                    requests_total: self.total.requests,
                    bad_total: kind.bad(&self.total),
                    // A long window judges only once the history covers it (with five
                    // minutes held, "the last hour" is the last five minutes again).
                    alert: alert(
                        kind,
                        [
                            b30s,
                            b5m,
                            b30m,
                            b1h.filter(|_| held_ms >= 3_600_000),
                            b6h.filter(|_| held_ms >= COARSE_MS),
                        ],
                    ),
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Availability,
    Latency,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Availability => "availability",
            Self::Latency => "latency",
        }
    }

    fn objective(self, slo: &Slo) -> f64 {
        match self {
            Self::Availability => slo.availability,
            Self::Latency => slo.latency,
        }
    }

    fn bad(self, c: &Counts) -> f64 {
        match self {
            Self::Availability => c.errors,
            Self::Latency => c.slow,
        }
    }
}

/// Requests of `delta` answered within `threshold_ms`: its bucket's cumulative count. A
/// histogram without that bound (a target that is not an Apiary service) counts every request
/// as within it, so the latency SLO judges nothing it cannot see.
fn within(delta: &Delta, threshold_ms: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // thresholds are at most 10 000 ms
    let bound = threshold_ms as f64 / 1000.0;
    delta
        .buckets
        .iter()
        .find(|(k, _)| (f64::from_bits(**k) - bound).abs() < 1e-9)
        .map_or(delta.requests, |(_, v)| *v)
}

/// The alert the windows fire, the most urgent first.
fn alert(kind: Kind, [b30s, b5m, b30m, b1h, b6h]: [Option<f64>; 5]) -> Option<BurnAlert> {
    let over = |b: Option<f64>, factor: f64| b.is_some_and(|b| b > factor);
    let name = kind.name();
    if over(b1h, 14.4) && over(b5m, 14.4) {
        return Some(BurnAlert {
            tier: "fast".into(),
            summary: format!(
                "burning its {name} budget {:.0}x too fast over 1 h (and 5 min): 2 % of a 30-day budget an hour",
                b1h.unwrap_or_default()
            ),
        });
    }
    if over(b6h, 6.0) && over(b30m, 6.0) {
        return Some(BurnAlert {
            tier: "fast".into(),
            summary: format!(
                "burning its {name} budget {:.0}x too fast over 6 h (and 30 min): 5 % of a 30-day budget in 6 h",
                b6h.unwrap_or_default()
            ),
        });
    }
    if over(b5m, 14.4) && over(b30s, 14.4) {
        return Some(BurnAlert {
            tier: "drill".into(),
            summary: format!(
                "burning its {name} budget {:.0}x too fast over 5 min (and 30 s)",
                b5m.unwrap_or_default()
            ),
        });
    }
    None
}

/// The share of a 30-day error budget that `bad` of `requests` bad events over `secs` spend, at
/// the traffic they came with: the mean burn rate times the time, over 30 days (as the
/// workbook's "2 % in 1 h at 14.4x").
pub fn budget_spent_30d(bad: f64, requests: f64, secs: f64, objective: f64) -> Option<f64> {
    (requests > 0.0 && secs > 0.0 && objective < 1.0)
        .then(|| bad / requests / (1.0 - objective) * secs / (30.0 * 86_400.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::red::Buckets;

    fn slo() -> Slo {
        Slo {
            availability: 0.995,
            latency: 0.99,
            latency_threshold_ms: 250,
        }
    }

    /// `n` requests, `errors` of them 5xx, `slow` of them over 250 ms.
    fn delta(n: f64, errors: f64, slow: f64) -> Delta {
        let mut buckets = Buckets::new();
        buckets.insert(0.1f64.to_bits(), n - slow);
        buckets.insert(0.25f64.to_bits(), n - slow);
        buckets.insert(f64::INFINITY.to_bits(), n);
        Delta {
            requests: n,
            errors,
            buckets,
        }
    }

    #[test]
    fn a_healthy_service_burns_nothing_and_keeps_its_budget() {
        let mut t = SloTracker::new(slo());
        for s in 0..120 {
            t.add(1_000_000 + s * 1000, &delta(10.0, 0.0, 0.0));
        }
        let st = t.status(1_000_000 + 119_000);
        assert_eq!(st.len(), 2);
        for s in &st {
            assert_eq!(s.burn_30s, Some(0.0));
            assert_eq!(s.budget_remaining, Some(1.0));
            assert_eq!(s.alert, None);
        }
        assert_eq!(st[0].slo, "availability");
        assert_eq!(st[1].threshold_ms, Some(250));
        assert_eq!(st[0].requests_total, 1200.0);
    }

    #[test]
    fn an_outage_fires_the_drill_tier_and_spends_the_budget() {
        let mut t = SloTracker::new(slo());
        let t0 = 10 * MINUTE_MS;
        // Five calm minutes, then 40 s of every request failing.
        for s in 0..300 {
            t.add(t0 + s * 1000, &delta(10.0, 0.0, 0.0));
        }
        let mut status = Vec::new();
        for s in 300..340 {
            t.add(t0 + s * 1000, &delta(10.0, 10.0, 0.0));
            status = t.status(t0 + s * 1000);
        }
        let avail = &status[0];
        // 30 s all failing: a 1/0.005 = 200x burn.
        assert_eq!(avail.burn_30s, Some(200.0));
        // 40 of the last 300 s failing: 200 * 40/300.
        assert!(
            (avail.burn_5m.expect("5m") - 26.667).abs() < 0.01,
            "{avail:?}"
        );
        let alert = avail.alert.as_ref().expect("the drill tier fires");
        assert_eq!(alert.tier, "drill");
        assert!(alert.summary.contains("availability"), "{}", alert.summary);
        assert!(avail.budget_remaining.expect("budget") < 0.0, "{avail:?}");
        assert_eq!(avail.bad_total, 400.0);
        // Latency did not suffer.
        assert_eq!(status[1].alert, None);
        assert_eq!(status[1].burn_30s, Some(0.0));
    }

    #[test]
    fn slow_answers_burn_the_latency_budget_only() {
        let mut t = SloTracker::new(slo());
        for s in 0..60 {
            t.add(s * 1000, &delta(10.0, 0.0, 2.0));
        }
        let st = t.status(59_000);
        assert_eq!(st[0].burn_30s, Some(0.0));
        // 20 % slow against a 1 % budget: 20x.
        assert_eq!(st[1].burn_30s, Some(20.0));
        assert_eq!(st[1].alert.as_ref().map(|a| a.tier.as_str()), Some("drill"));
    }

    #[test]
    fn a_long_slow_burn_fires_the_fast_tier_from_minute_totals() {
        let mut t = SloTracker::new(slo());
        // Two hours at 10 % failing (20x), one scrape every 10 s.
        for s in 0..720 {
            t.add(s * 10_000, &delta(10.0, 1.0, 0.0));
        }
        let st = t.status(719 * 10_000);
        let avail = &st[0];
        assert!(
            (avail.burn_1h.expect("1h") - 20.0).abs() < 0.01,
            "{avail:?}"
        );
        assert_eq!(avail.alert.as_ref().map(|a| a.tier.as_str()), Some("fast"));
        assert_eq!(avail.budget_window_s, 7190);
        // Only six hours of minutes are kept.
        for s in 720..(720 + 6 * 360 + 60) {
            t.add(s * 10_000, &delta(10.0, 0.0, 0.0));
        }
        assert!(t.coarse.len() <= 361, "{}", t.coarse.len());
        assert!(t.fine.len() <= 31, "{}", t.fine.len());
    }

    #[test]
    fn a_histogram_without_the_threshold_counts_nothing_slow() {
        let d = Delta {
            requests: 5.0,
            errors: 0.0,
            buckets: Buckets::new(),
        };
        assert_eq!(within(&d, 250), 5.0);
    }

    #[test]
    fn a_drill_spends_its_share_of_a_thirty_day_budget() {
        // 1 h at a 14.4x burn spends 2 % (the workbook's figure).
        let spent = budget_spent_30d(72.0, 1000.0, 3600.0, 0.995).expect("spent");
        assert!((spent - 0.02).abs() < 1e-9, "{spent}");
        assert_eq!(budget_spent_30d(0.0, 0.0, 10.0, 0.995), None);
    }
}
