//! Rate, errors and duration from Prometheus histograms: cumulative snapshots in, per-interval
//! deltas and quantiles out (the `histogram_quantile` interpolation Prometheus uses).

use std::collections::{BTreeMap, HashMap};

use dashboard_api::Latency;

/// The server-duration histogram every Apiary service exports.
pub const SERVER_HISTOGRAM: &str = "http_server_request_duration_seconds";

/// Bucket counts keyed by the bit pattern of their (non-negative) upper bound, so they sort by
/// bound and `+Inf` comes last.
pub type Buckets = BTreeMap<u64, f64>;

fn key(le: f64) -> u64 {
    le.max(0.0).to_bits()
}

/// One series' cumulative state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cumulative {
    pub count: f64,
    pub buckets: Buckets,
}

/// What happened during one interval (or a sum of intervals).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    pub requests: f64,
    pub errors: f64,
    /// Cumulative-by-bound counts of the interval's requests.
    pub buckets: Buckets,
}

impl Delta {
    pub fn add(&mut self, other: &Delta) {
        self.requests += other.requests;
        self.errors += other.errors;
        for (k, v) in &other.buckets {
            *self.buckets.entry(*k).or_default() += v;
        }
    }

    /// The `q` quantile in seconds, interpolated inside its bucket; `None` without requests.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.buckets.values().next_back().copied().unwrap_or(0.0);
        if total <= 0.0 {
            return None;
        }
        let rank = q * total;
        let mut lower_bound = 0.0;
        let mut lower_count = 0.0;
        for (k, cum) in &self.buckets {
            let upper = f64::from_bits(*k);
            if *cum >= rank {
                if upper.is_infinite() {
                    return Some(lower_bound);
                }
                let in_bucket = cum - lower_count;
                let frac = if in_bucket > 0.0 {
                    (rank - lower_count) / in_bucket
                } else {
                    1.0
                };
                return Some(lower_bound + (upper - lower_bound) * frac);
            }
            lower_bound = upper;
            lower_count = *cum;
        }
        Some(lower_bound)
    }
}

/// `a - b` for a counter that may have been reset in between (then `a` alone is the change).
fn counter_delta(now: f64, before: f64) -> f64 {
    if now >= before { now - before } else { now }
}

pub fn cumulative_delta(now: &Cumulative, before: Option<&Cumulative>) -> Cumulative {
    let Some(before) = before else {
        return now.clone();
    };
    if now.count < before.count {
        return now.clone();
    }
    Cumulative {
        count: counter_delta(now.count, before.count),
        buckets: now
            .buckets
            .iter()
            .map(|(k, v)| {
                (
                    *k,
                    counter_delta(*v, before.buckets.get(k).copied().unwrap_or(0.0)),
                )
            })
            .collect(),
    }
}

/// Identity of one server-histogram series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub method: String,
    pub route: String,
    pub status: u16,
}

/// What one scrape of a service says, cumulatively.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scraped {
    pub server: HashMap<SeriesKey, Cumulative>,
    /// `shop_*` counters and gauges, keyed `name{label="value",...}` with labels sorted.
    pub business: BTreeMap<String, f64>,
    /// `process_resident_memory_bytes`, when the target exports it.
    pub resident_bytes: Option<f64>,
    /// `process_start_time_seconds`, when the target exports it: a change between two scrapes
    /// is a restart.
    pub start_time: Option<f64>,
    /// `messaging_*` counters and gauges (and histograms' `_sum`/`_count`), keyed like
    /// [`Scraped::business`].
    pub messaging: BTreeMap<String, f64>,
}

/// Stand-ins for `{` and `}` inside quoted label values while `prometheus-parse` reads a line:
/// its sample pattern ends the label set at the first `}`, so a route label such as
/// `/carts/{cart_id}` made it drop the whole sample (services whose routes all have
/// parameters read as 0 requests/s). Restored by [`unshield`].
const OPEN: char = '\u{1}';
const CLOSE: char = '\u{2}';

fn shield(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let (mut in_labels, mut quoted, mut escaped) = (false, false, false);
    for c in line.chars() {
        let mapped = if quoted {
            if escaped {
                escaped = false;
                c
            } else {
                match c {
                    '\\' => {
                        escaped = true;
                        c
                    }
                    '"' => {
                        quoted = false;
                        c
                    }
                    '{' => OPEN,
                    '}' => CLOSE,
                    _ => c,
                }
            }
        } else {
            match c {
                '{' if !in_labels => in_labels = true,
                '}' => in_labels = false,
                '"' if in_labels => quoted = true,
                _ => {}
            }
            c
        };
        out.push(mapped);
    }
    out
}

fn unshield(value: &str) -> String {
    value.replace(OPEN, "{").replace(CLOSE, "}")
}

/// Text the `prometheus-parse` crate refused.
#[derive(Debug, thiserror::Error)]
#[error("not Prometheus text: {0}")]
pub struct ParseError(#[source] pub std::io::Error);

/// Parses Prometheus text with the `prometheus-parse` crate.
pub fn parse(text: &str) -> Result<Scraped, ParseError> {
    let lines = text.lines().map(|l| {
        Ok(if l.starts_with('#') {
            l.to_owned()
        } else {
            shield(l)
        })
    });
    let scrape = prometheus_parse::Scrape::parse(lines).map_err(ParseError)?;
    let mut out = Scraped::default();
    for sample in scrape.samples {
        if sample.metric == SERVER_HISTOGRAM {
            if let prometheus_parse::Value::Histogram(buckets) = &sample.value {
                let key = SeriesKey {
                    method: sample
                        .labels
                        .get("http_request_method")
                        .unwrap_or("")
                        .to_owned(),
                    route: unshield(sample.labels.get("http_route").unwrap_or("")),
                    status: sample
                        .labels
                        .get("http_response_status_code")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                };
                let entry = out.server.entry(key).or_default();
                for b in buckets {
                    *entry.buckets.entry(self::key(b.less_than)).or_default() += b.count;
                }
                entry.count = entry.buckets.values().next_back().copied().unwrap_or(0.0);
            }
        } else if sample.metric == "process_resident_memory_bytes" {
            if let prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) =
                sample.value
            {
                out.resident_bytes = Some(v);
            }
        } else if sample.metric == "process_start_time_seconds" {
            if let prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) =
                sample.value
            {
                out.start_time = Some(v);
            }
        } else if sample.metric.starts_with("shop_") || sample.metric.starts_with("messaging_") {
            let value = match sample.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => continue,
            };
            let mut labels: Vec<(&String, &String)> = sample.labels.iter().collect();
            labels.sort();
            let labels = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", unshield(v)))
                .collect::<Vec<_>>()
                .join(",");
            let name = if labels.is_empty() {
                sample.metric.clone()
            } else {
                format!("{}{{{labels}}}", sample.metric)
            };
            let into = if sample.metric.starts_with("shop_") {
                &mut out.business
            } else {
                &mut out.messaging
            };
            *into.entry(name).or_default() += value;
        }
    }
    Ok(out)
}

/// The change between two scrapes: totals, per route (`GET /route`) and business counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interval {
    pub total: Delta,
    pub routes: BTreeMap<String, Delta>,
    pub business: BTreeMap<String, f64>,
}

impl Interval {
    /// Adds `other` (a later or earlier interval) into this one.
    pub fn add(&mut self, other: &Interval) {
        self.total.add(&other.total);
        for (route, d) in &other.routes {
            self.routes.entry(route.clone()).or_default().add(d);
        }
        for (k, v) in &other.business {
            *self.business.entry(k.clone()).or_default() += v;
        }
    }
}

pub fn interval(now: &Scraped, before: &Scraped) -> Interval {
    let mut out = Interval::default();
    for (key, cum) in &now.server {
        let d = cumulative_delta(cum, before.server.get(key));
        let delta = Delta {
            requests: d.count,
            errors: if key.status >= 500 { d.count } else { 0.0 },
            buckets: d.buckets,
        };
        out.total.add(&delta);
        out.routes
            .entry(format!("{} {}", key.method, key.route))
            .or_default()
            .add(&delta);
    }
    for (name, value) in &now.business {
        let before = before.business.get(name).copied().unwrap_or(0.0);
        out.business
            .insert(name.clone(), counter_delta(*value, before));
    }
    out
}

/// p50/p95/p99 in milliseconds of a histogram delta.
pub fn latency(delta: &Delta) -> Latency {
    let ms = |q| {
        delta
            .quantile(q)
            .map(|s| (s * 1000.0 * 100.0).round() / 100.0)
    };
    Latency {
        p50: ms(0.5),
        p95: ms(0.95),
        p99: ms(0.99),
    }
}

/// The same from raw durations (milliseconds), for services known only by their spans.
pub fn latency_of_samples(mut ms: Vec<f64>) -> Latency {
    if ms.is_empty() {
        return Latency::default();
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let idx = ((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1;
        Some((ms[idx] * 100.0).round() / 100.0)
    };
    Latency {
        p50: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT_A: &str = r#"
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{http_request_method="GET",http_route="/p",http_response_status_code="200",le="0.1"} 90
http_server_request_duration_seconds_bucket{http_request_method="GET",http_route="/p",http_response_status_code="200",le="1"} 100
http_server_request_duration_seconds_bucket{http_request_method="GET",http_route="/p",http_response_status_code="200",le="+Inf"} 100
http_server_request_duration_seconds_sum{http_request_method="GET",http_route="/p",http_response_status_code="200"} 5
http_server_request_duration_seconds_count{http_request_method="GET",http_route="/p",http_response_status_code="200"} 100
# TYPE shop_orders_placed_total counter
shop_orders_placed_total 10
"#;

    fn text_b() -> String {
        TEXT_A
            .replace("} 90", "} 180")
            .replace("le=\"1\"} 100", "le=\"1\"} 200")
            .replace("le=\"+Inf\"} 100", "le=\"+Inf\"} 200")
            .replace("_count{http_request_method=\"GET\",http_route=\"/p\",http_response_status_code=\"200\"} 100", "_count{http_request_method=\"GET\",http_route=\"/p\",http_response_status_code=\"200\"} 200")
            .replace("shop_orders_placed_total 10", "shop_orders_placed_total 13")
            + "http_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_route=\"/p\",http_response_status_code=\"503\",le=\"0.1\"} 0\nhttp_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_route=\"/p\",http_response_status_code=\"503\",le=\"1\"} 0\nhttp_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_route=\"/p\",http_response_status_code=\"503\",le=\"+Inf\"} 25\n"
    }

    #[test]
    fn routes_with_parameters_are_not_dropped() {
        let text = "# TYPE http_server_request_duration_seconds histogram\n\
            http_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"/carts/{cart_id}\",le=\"0.005\"} 3\n\
            http_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"/carts/{cart_id}\",le=\"+Inf\"} 7\n\
            http_server_request_duration_seconds_sum{http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"/carts/{cart_id}\"} 0.1\n\
            http_server_request_duration_seconds_count{http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"/carts/{cart_id}\"} 7\n\
            shop_stockouts_total{stage=\"a{b}\"} 2\n";
        let s = parse(text).expect("parses");
        let (key, c) = s.server.iter().next().expect("the sample is kept");
        assert_eq!(key.route, "/carts/{cart_id}");
        assert_eq!(c.count, 7.0);
        assert_eq!(
            s.business.get("shop_stockouts_total{stage=\"a{b}\"}"),
            Some(&2.0)
        );
    }

    #[test]
    fn deltas_between_scrapes_give_rate_errors_and_business_changes() {
        let a = parse(TEXT_A).expect("parse a");
        let b = parse(&text_b()).expect("parse b");
        let i = interval(&b, &a);
        assert_eq!(i.total.requests, 125.0);
        assert_eq!(i.total.errors, 25.0);
        assert_eq!(i.routes["GET /p"].requests, 125.0);
        assert_eq!(i.business["shop_orders_placed_total"], 3.0);
    }

    #[test]
    fn quantiles_interpolate_inside_buckets() {
        let a = parse(TEXT_A).expect("parse");
        let all = interval(&a, &Scraped::default()).total;
        // 90 of 100 under 100 ms: the median is at 5/9 of the first bucket.
        let p50 = all.quantile(0.5).expect("p50");
        assert!((p50 - 0.0556).abs() < 0.001, "{p50}");
        // p95 falls in (0.1, 1]: halfway through its 10 requests.
        let p95 = all.quantile(0.95).expect("p95");
        assert!((p95 - 0.55).abs() < 0.001, "{p95}");
        assert_eq!(Delta::default().quantile(0.5), None);
    }

    #[test]
    fn a_counter_reset_counts_from_zero() {
        let a = parse(&text_b()).expect("b");
        let b = parse(TEXT_A).expect("a");
        let i = interval(&b, &a);
        assert_eq!(i.business["shop_orders_placed_total"], 10.0);
        assert!(i.total.requests >= 100.0);
    }

    #[test]
    fn sample_quantiles_use_nearest_rank() {
        let l = latency_of_samples((1..=100).map(f64::from).collect());
        assert_eq!((l.p50, l.p95, l.p99), (Some(50.0), Some(95.0), Some(99.0)));
        assert_eq!(latency_of_samples(vec![]), Latency::default());
    }

    #[test]
    fn process_gauges_are_read() {
        let text = "# TYPE process_start_time_seconds gauge\n\
            process_start_time_seconds 1795806909.25\n\
            # TYPE process_resident_memory_bytes gauge\n\
            process_resident_memory_bytes 15728640\n";
        let s = parse(text).expect("parse");
        assert_eq!(s.start_time, Some(1_795_806_909.25));
        assert_eq!(s.resident_bytes, Some(15_728_640.0));
        assert_eq!(parse(TEXT_A).expect("a").start_time, None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        // prometheus-parse skips lines it cannot read; whatever it returns must be usable.
        let parsed = parse("this is { not prometheus\n\x00\n").map(|s| s.server.len());
        assert!(matches!(parsed, Ok(0) | Err(_)));
    }
}
