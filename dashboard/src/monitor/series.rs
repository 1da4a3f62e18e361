//! The 1-second series: one scrape's counter changes added to (about) one-second points, kept
//! for 15 minutes, and the request and error rates over the newest points.

use std::collections::{BTreeMap, VecDeque};

use super::{POINT_SECS, SERIES_LEN, SeriesPoint, round};
use crate::red::{self, Delta, Interval};

pub(super) struct Point {
    pub(super) secs: f64,
    pub(super) interval: Interval,
    /// The point as the API shows it, computed once when it is added.
    pub(super) view: SeriesPoint,
    pub(super) routes: BTreeMap<String, SeriesPoint>,
}

impl Point {
    fn new(t_ms: u64, secs: f64, interval: Interval) -> Self {
        let view_of = |d: &Delta| {
            let (rps, error_rate) = rate(d, secs);
            SeriesPoint {
                t: t_ms,
                rps,
                error_rate,
                latency_ms: red::latency(d),
            }
        };
        let view = view_of(&interval.total);
        let routes = interval
            .routes
            .iter()
            .map(|(r, d)| (r.clone(), view_of(d)))
            .collect();
        Self {
            secs,
            interval,
            view,
            routes,
        }
    }
}

pub(super) fn window(points: &VecDeque<Point>, n: usize) -> (Interval, f64) {
    let mut sum = Interval::default();
    let mut secs = 0.0;
    for p in points.iter().rev().take(n) {
        sum.add(&p.interval);
        secs += p.secs;
    }
    (sum, secs)
}

/// Adds one scrape's interval to a series of (about) [`POINT_SECS`]-long points. Scrapes come
/// more often than that so health sees a change sooner; the newest point takes them in until
/// one more would take it further from a whole point than leaving it (at 500 ms scrapes: two
/// per point; at 1 s or more: one point per scrape).
pub(super) fn push_interval(
    points: &mut VecDeque<Point>,
    t_ms: u64,
    secs: f64,
    interval: Interval,
) {
    if let Some(last) = points.back_mut()
        && last.secs + secs / 2.0 <= POINT_SECS
    {
        let mut merged = std::mem::take(&mut last.interval);
        merged.add(&interval);
        *last = Point::new(t_ms, last.secs + secs, merged);
        return;
    }
    points.push_back(Point::new(t_ms, secs, interval));
    if points.len() > SERIES_LEN {
        points.pop_front();
    }
}

pub(super) fn rate(d: &Delta, secs: f64) -> (f64, f64) {
    let rps = if secs > 0.0 { d.requests / secs } else { 0.0 };
    let err = if d.requests > 0.0 {
        d.errors / d.requests
    } else {
        0.0
    };
    (round(rps), round(err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::WINDOW_POINTS;

    fn requests(n: f64, errors: f64) -> Interval {
        Interval {
            total: red::Delta {
                requests: n,
                errors,
                buckets: Default::default(),
            },
            ..Interval::default()
        }
    }

    #[test]
    fn half_second_scrapes_make_one_second_points() {
        let mut points = VecDeque::new();
        // Four scrapes 500 ms apart: two points of one second each, the newest one updated
        // by every scrape (so health sees each half second's requests at once).
        push_interval(&mut points, 1_500, 0.5, requests(5.0, 0.0));
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].view.rps, 10.0);
        push_interval(&mut points, 2_000, 0.5, requests(5.0, 5.0));
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].secs, 1.0);
        assert_eq!(points[0].view.t, 2_000);
        assert_eq!(points[0].view.rps, 10.0);
        assert_eq!(points[0].view.error_rate, 0.5);
        push_interval(&mut points, 2_500, 0.5, requests(2.0, 0.0));
        push_interval(&mut points, 3_000, 0.5, requests(2.0, 0.0));
        assert_eq!(points.len(), 2);
        assert_eq!(points[1].view.rps, 4.0);
        let (sum, secs) = window(&points, WINDOW_POINTS);
        assert_eq!(
            (sum.total.requests, sum.total.errors, secs),
            (14.0, 5.0, 2.0)
        );
    }

    #[test]
    fn one_second_or_slower_scrapes_make_a_point_each() {
        let mut points = VecDeque::new();
        for i in 0..(SERIES_LEN as u64 + 3) {
            push_interval(&mut points, 1_000 * i, 1.0, requests(1.0, 0.0));
        }
        assert_eq!(points.len(), SERIES_LEN);
        let mut slow = VecDeque::new();
        push_interval(&mut slow, 2_000, 2.0, requests(1.0, 0.0));
        push_interval(&mut slow, 4_000, 2.0, requests(1.0, 0.0));
        assert_eq!(slow.len(), 2);
    }
}
