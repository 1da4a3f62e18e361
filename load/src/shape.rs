//! The arrival-rate shapes: how many journeys per second should start, as a function of the
//! time since the shape was set.
//!
//! Written as one string so the CLI, the profile and the control API share a syntax:
//! `10` or `constant:10`, `ramp:FROM:TO:OVER`, `step:START:BY:EVERY[:MAX]`,
//! `spike:BASE:PEAK:AT:FOR`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::units::{InvalidValue, format_duration, parse_duration};

/// The highest rate accepted (journeys per second): far above what one machine generates, low
/// enough that a typo (an extra zero or three) is refused rather than attempted.
pub const MAX_RATE: f64 = 1_000_000.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateShape {
    /// The same rate throughout.
    Constant { rate: f64 },
    /// Linear from `from` to `to` over `over`, then holds `to`.
    Ramp { from: f64, to: f64, over: Duration },
    /// `start`, raised by `by` every `every`, never above `max`.
    Step {
        start: f64,
        by: f64,
        every: Duration,
        max: Option<f64>,
    },
    /// `base`, jumping to `peak` at `at` for `hold`, then back to `base`.
    Spike {
        base: f64,
        peak: f64,
        at: Duration,
        hold: Duration,
    },
}

impl RateShape {
    /// Journeys per second `elapsed` after the shape was set.
    pub fn rate_at(&self, elapsed: Duration) -> f64 {
        match *self {
            RateShape::Constant { rate } => rate,
            RateShape::Ramp { from, to, over } => {
                if over.is_zero() || elapsed >= over {
                    to
                } else {
                    from + (to - from) * (elapsed.as_secs_f64() / over.as_secs_f64())
                }
            }
            RateShape::Step {
                start,
                by,
                every,
                max,
            } => {
                let steps = if every.is_zero() {
                    0.0
                } else {
                    (elapsed.as_secs_f64() / every.as_secs_f64()).floor()
                };
                let rate = (start + by * steps).max(0.0);
                max.map_or(rate, |m| rate.min(m))
            }
            RateShape::Spike {
                base,
                peak,
                at,
                hold,
            } => {
                if elapsed >= at && elapsed < at + hold {
                    peak
                } else {
                    base
                }
            }
        }
    }

    /// The largest rate the shape ever asks for (what a run must be able to start).
    pub fn peak(&self) -> f64 {
        match *self {
            RateShape::Constant { rate } => rate,
            RateShape::Ramp { from, to, .. } => from.max(to),
            RateShape::Step { max, .. } => max.unwrap_or(MAX_RATE),
            RateShape::Spike { base, peak, .. } => base.max(peak),
        }
    }
}

fn rate(raw: &str) -> Result<f64, InvalidValue> {
    let v: f64 = raw
        .trim()
        .parse()
        .map_err(|_| InvalidValue::NotRate(raw.to_owned()))?;
    if !v.is_finite() || !(0.0..=MAX_RATE).contains(&v) {
        return Err(InvalidValue::RateOutOfRange {
            raw: raw.to_owned(),
            max: MAX_RATE,
        });
    }
    Ok(v)
}

impl FromStr for RateShape {
    type Err = InvalidValue;

    fn from_str(raw: &str) -> Result<Self, InvalidValue> {
        let parts: Vec<&str> = raw.trim().split(':').collect();
        let usage = "RATE, constant:RATE, ramp:FROM:TO:OVER, step:START:BY:EVERY[:MAX] \
                     or spike:BASE:PEAK:AT:FOR (e.g. ramp:1:50:60s)";
        match parts.as_slice() {
            [r] => Ok(RateShape::Constant { rate: rate(r)? }),
            ["constant", r] => Ok(RateShape::Constant { rate: rate(r)? }),
            ["ramp", from, to, over] => Ok(RateShape::Ramp {
                from: rate(from)?,
                to: rate(to)?,
                over: parse_duration(over)?,
            }),
            ["step", start, by, every, rest @ ..] if rest.len() <= 1 => {
                let by: f64 = by
                    .trim_start_matches('+')
                    .parse()
                    .map_err(|_| InvalidValue::NotIncrement((*by).to_owned()))?;
                if !by.is_finite() || by.abs() > MAX_RATE {
                    return Err(InvalidValue::IncrementOutOfRange(by));
                }
                let every = parse_duration(every)?;
                if every.is_zero() {
                    return Err(InvalidValue::EmptyStep);
                }
                Ok(RateShape::Step {
                    start: rate(start)?,
                    by,
                    every,
                    max: rest.first().map(|m| rate(m)).transpose()?,
                })
            }
            ["spike", base, peak, at, hold] => Ok(RateShape::Spike {
                base: rate(base)?,
                peak: rate(peak)?,
                at: parse_duration(at)?,
                hold: parse_duration(hold)?,
            }),
            _ => Err(InvalidValue::Shape {
                raw: raw.to_owned(),
                usage,
            }),
        }
    }
}

impl fmt::Display for RateShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RateShape::Constant { rate } => write!(f, "constant:{rate}"),
            RateShape::Ramp { from, to, over } => {
                write!(f, "ramp:{from}:{to}:{}", format_duration(over))
            }
            RateShape::Step {
                start,
                by,
                every,
                max,
            } => {
                write!(f, "step:{start}:{by}:{}", format_duration(every))?;
                if let Some(m) = max {
                    write!(f, ":{m}")?;
                }
                Ok(())
            }
            RateShape::Spike {
                base,
                peak,
                at,
                hold,
            } => write!(
                f,
                "spike:{base}:{peak}:{}:{}",
                format_duration(at),
                format_duration(hold)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(s: &str) -> RateShape {
        s.parse().unwrap_or(RateShape::Constant { rate: -1.0 })
    }

    #[test]
    fn shapes_give_their_rates_over_time() {
        let s = |secs: u64| Duration::from_secs(secs);
        assert_eq!(shape("7").rate_at(s(100)), 7.0);
        let ramp = shape("ramp:10:20:10s");
        assert_eq!(ramp.rate_at(s(0)), 10.0);
        assert_eq!(ramp.rate_at(s(5)), 15.0);
        assert_eq!(ramp.rate_at(s(60)), 20.0);
        let step = shape("step:10:+5:10s:20");
        assert_eq!(step.rate_at(s(9)), 10.0);
        assert_eq!(step.rate_at(s(10)), 15.0);
        assert_eq!(step.rate_at(s(100)), 20.0);
        let spike = shape("spike:5:100:30s:10s");
        assert_eq!(spike.rate_at(s(29)), 5.0);
        assert_eq!(spike.rate_at(s(30)), 100.0);
        assert_eq!(spike.rate_at(s(40)), 5.0);
    }

    #[test]
    fn shapes_round_trip_and_bad_ones_are_refused() {
        for s in [
            "constant:5",
            "ramp:1:50:1m",
            "step:10:5:30s:100",
            "spike:5:100:30s:10s",
        ] {
            assert_eq!(shape(s).to_string(), s);
        }
        for bad in [
            "",
            "fast",
            "ramp:1:2",
            "ramp:1:2:3",
            "-5",
            "1e12",
            "step:1:1:0s",
        ] {
            assert!(bad.parse::<RateShape>().is_err(), "{bad}");
        }
    }
}
