//! Service level objectives: `[slo]` sets the stack's defaults, a service's own `slo = { ... }`
//! overrides them. One definition for every place that judges a service against its SLO (the
//! Prometheus rules written by [`crate::prometheus::slo_rules`], the dashboard).

use serde::Deserialize;

/// The whole-millisecond bucket bounds of `http_server_request_duration_seconds`, as the
/// services record it (apiary-telemetry's `HTTP_DURATION_BUCKETS`, which also has sub-millisecond
/// bounds; a test keeps every one of these among them). A latency threshold must be one of
/// them: the SLO counts the requests in that bucket.
pub const LATENCY_BUCKETS_MS: &[u64] = &[
    1, 5, 10, 15, 25, 35, 50, 75, 100, 150, 250, 500, 750, 1000, 2500, 5000, 7500, 10000,
];

/// `[slo]`: the objectives every service gets unless it says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SloDefaults {
    /// Share of requests answered without a 5xx (0.995 = 99.5 %).
    pub availability: f64,
    /// Share of requests answered within `latency_threshold_ms`.
    pub latency: f64,
    pub latency_threshold_ms: u64,
}

impl Default for SloDefaults {
    fn default() -> Self {
        Self {
            availability: 0.995,
            latency: 0.99,
            latency_threshold_ms: 250,
        }
    }
}

/// A service's `slo = { ... }`: any field it sets replaces the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloOverride {
    pub availability: Option<f64>,
    pub latency: Option<f64>,
    pub latency_threshold_ms: Option<u64>,
}

/// One service's objectives, defaults applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slo {
    pub availability: f64,
    pub latency: f64,
    pub latency_threshold_ms: u64,
}

impl Default for Slo {
    /// `[slo]`'s defaults.
    fn default() -> Self {
        Self::resolve(&SloDefaults::default(), None)
    }
}

impl Slo {
    pub fn resolve(defaults: &SloDefaults, own: Option<&SloOverride>) -> Self {
        let own = own.copied().unwrap_or_default();
        Self {
            availability: own.availability.unwrap_or(defaults.availability),
            latency: own.latency.unwrap_or(defaults.latency),
            latency_threshold_ms: own
                .latency_threshold_ms
                .unwrap_or(defaults.latency_threshold_ms),
        }
    }

    /// The threshold as the histogram's `le` label writes it (`0.25`, `1`, `2.5`).
    pub fn latency_le(&self) -> String {
        #[allow(clippy::cast_precision_loss)] // thresholds are at most 10 000 ms
        let seconds = self.latency_threshold_ms as f64 / 1000.0;
        format!("{seconds}")
    }

    /// Why these objectives cannot be used, if they cannot.
    pub fn problem(&self) -> Option<String> {
        for (name, value) in [
            ("availability", self.availability),
            ("latency", self.latency),
        ] {
            if !(value > 0.0 && value < 1.0) {
                return Some(format!(
                    "slo {name} must be a share between 0 and 1 exclusive, e.g. 0.995 (got {value})"
                ));
            }
        }
        if !LATENCY_BUCKETS_MS.contains(&self.latency_threshold_ms) {
            return Some(format!(
                "slo latency_threshold_ms must be one of the latency histogram's bucket bounds {LATENCY_BUCKETS_MS:?} (got {})",
                self.latency_threshold_ms
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_overrides_only_what_it_sets() {
        let d = SloDefaults::default();
        let own = SloOverride {
            latency_threshold_ms: Some(1000),
            ..SloOverride::default()
        };
        let slo = Slo::resolve(&d, Some(&own));
        assert_eq!(slo.availability, 0.995);
        assert_eq!(slo.latency_threshold_ms, 1000);
        assert_eq!(slo.latency_le(), "1");
        assert_eq!(Slo::resolve(&d, None).latency_le(), "0.25");
        assert_eq!(slo.problem(), None);
    }

    #[test]
    fn shares_outside_zero_to_one_and_thresholds_off_the_buckets_are_refused() {
        let d = SloDefaults::default();
        let bad = |o: SloOverride| Slo::resolve(&d, Some(&o)).problem();
        assert!(
            bad(SloOverride {
                availability: Some(99.5),
                ..SloOverride::default()
            })
            .is_some_and(|m| m.contains("availability"))
        );
        assert!(
            bad(SloOverride {
                latency: Some(1.0),
                ..SloOverride::default()
            })
            .is_some_and(|m| m.contains("latency"))
        );
        assert!(
            bad(SloOverride {
                latency_threshold_ms: Some(300),
                ..SloOverride::default()
            })
            .is_some_and(|m| m.contains("bucket bounds"))
        );
    }
}
