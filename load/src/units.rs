//! The small value syntaxes shared by the CLI, the profile file and the control API:
//! durations (`250ms`, `2s`, `1.5m`, `1h`), duration ranges (`1s..3s`) and count ranges (`1..3`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::Rng;

/// A value in one of the load generator's small syntaxes that does not parse. The message says
/// what was found and what was expected (the CLI, the profile file and the control API show it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidValue {
    #[error("'{0}' has no unit (use ms, s, m or h, e.g. 2s)")]
    NoUnit(String),
    #[error("'{0}' is not a duration (e.g. 250ms, 2s, 1.5m, 1h)")]
    NotDuration(String),
    #[error("'{raw}' has an unknown unit '{unit}' (use ms, s, m or h)")]
    UnknownUnit { raw: String, unit: String },
    #[error("'{0}' is out of range (0 to 168h)")]
    DurationOutOfRange(String),
    #[error("'{0}' is not a count or range of counts (e.g. 2 or 1..3)")]
    NotCount(String),
    #[error("'{0}': the range's start is after its end")]
    Reversed(String),
    #[error("a run needs a positive duration (or 'forever')")]
    EmptyRun,
    #[error("'{0}' is not a rate (journeys per second, e.g. 5 or 0.5)")]
    NotRate(String),
    #[error("rate {raw} is out of range (0 to {max})")]
    RateOutOfRange { raw: String, max: f64 },
    #[error("'{0}' is not a rate increment")]
    NotIncrement(String),
    #[error("increment {0} is out of range")]
    IncrementOutOfRange(f64),
    #[error("a step shape needs a positive interval")]
    EmptyStep,
    #[error("'{raw}': expected {usage}")]
    Shape { raw: String, usage: &'static str },
    #[error("'{0}' is not an address (e.g. 127.0.0.1:8089) or 'off'")]
    NotAddress(String),
    #[error("the timeout must be positive")]
    EmptyTimeout,
    #[error("give exactly one of `rate` (journeys per second) or `shape`")]
    RateOrShape,
}

/// Parses `250ms`, `2s`, `1.5s`, `3m`, `1h` (a bare `0` is zero).
pub fn parse_duration(raw: &str) -> Result<Duration, InvalidValue> {
    let s = raw.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| InvalidValue::NoUnit(raw.to_owned()))?;
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| InvalidValue::NotDuration(raw.to_owned()))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(InvalidValue::UnknownUnit {
                raw: raw.to_owned(),
                unit: unit.to_owned(),
            });
        }
    };
    // A week is far beyond any run; the bound keeps Duration::from_secs_f64 from panicking.
    if !seconds.is_finite() || !(0.0..=604_800.0).contains(&seconds) {
        return Err(InvalidValue::DurationOutOfRange(raw.to_owned()));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Formats a duration the way [`parse_duration`] reads it.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{}ms", trim_float(ms))
    } else if ms < 60_000.0 {
        format!("{}s", trim_float(ms / 1000.0))
    } else if ms < 3_600_000.0 {
        format!("{}m", trim_float(ms / 60_000.0))
    } else {
        format!("{}h", trim_float(ms / 3_600_000.0))
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A think time or other pause: fixed (`2s`) or uniform over a range (`1s..3s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    pub min: Duration,
    pub max: Duration,
}

impl DurationRange {
    pub const ZERO: Self = Self {
        min: Duration::ZERO,
        max: Duration::ZERO,
    };

    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        if self.max <= self.min {
            return self.min;
        }
        let min = self.min.as_nanos() as u64;
        let max = self.max.as_nanos() as u64;
        Duration::from_nanos(rng.random_range(min..=max))
    }
}

impl FromStr for DurationRange {
    type Err = InvalidValue;

    fn from_str(raw: &str) -> Result<Self, InvalidValue> {
        match raw.split_once("..") {
            None => {
                let d = parse_duration(raw)?;
                Ok(Self { min: d, max: d })
            }
            Some((a, b)) => {
                let (min, max) = (parse_duration(a)?, parse_duration(b)?);
                if min > max {
                    return Err(InvalidValue::Reversed(raw.to_owned()));
                }
                Ok(Self { min, max })
            }
        }
    }
}

impl fmt::Display for DurationRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{}", format_duration(self.min))
        } else {
            write!(
                f,
                "{}..{}",
                format_duration(self.min),
                format_duration(self.max)
            )
        }
    }
}

/// A count, fixed (`2`) or uniform over an inclusive range (`1..3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountRange {
    pub min: u32,
    pub max: u32,
}

impl CountRange {
    pub const ONE: Self = Self { min: 1, max: 1 };

    pub fn sample(&self, rng: &mut impl Rng) -> u32 {
        if self.max <= self.min {
            self.min
        } else {
            rng.random_range(self.min..=self.max)
        }
    }
}

impl FromStr for CountRange {
    type Err = InvalidValue;

    fn from_str(raw: &str) -> Result<Self, InvalidValue> {
        let num = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| InvalidValue::NotCount(raw.to_owned()))
        };
        let (min, max) = match raw.split_once("..") {
            None => {
                let n = num(raw)?;
                (n, n)
            }
            Some((a, b)) => (num(a)?, num(b)?),
        };
        if min > max {
            return Err(InvalidValue::Reversed(raw.to_owned()));
        }
        Ok(Self { min, max })
    }
}

/// How long a run lasts: a duration, or `forever` (what `apiary up` passes for background load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunLength {
    For(Duration),
    Forever,
}

impl RunLength {
    pub fn as_duration(&self) -> Option<Duration> {
        match self {
            RunLength::For(d) => Some(*d),
            RunLength::Forever => None,
        }
    }
}

impl FromStr for RunLength {
    type Err = InvalidValue;

    fn from_str(raw: &str) -> Result<Self, InvalidValue> {
        if raw == "forever" {
            return Ok(RunLength::Forever);
        }
        let d = parse_duration(raw)?;
        if d.is_zero() {
            return Err(InvalidValue::EmptyRun);
        }
        Ok(RunLength::For(d))
    }
}

impl fmt::Display for RunLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunLength::For(d) => write!(f, "{}", format_duration(*d)),
            RunLength::Forever => write!(f, "forever"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1000h").is_err());
    }

    #[test]
    fn ranges_parse_and_sample_inside() {
        let r: DurationRange = "1s..3s".parse().unwrap_or(DurationRange::ZERO);
        assert_eq!(r.min, Duration::from_secs(1));
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(7);
        for _ in 0..100 {
            let d = r.sample(&mut rng);
            assert!(d >= r.min && d <= r.max);
        }
        assert!("3s..1s".parse::<DurationRange>().is_err());
        assert_eq!(
            "1..3".parse::<CountRange>(),
            Ok(CountRange { min: 1, max: 3 })
        );
        assert!("x".parse::<CountRange>().is_err());
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!("forever".parse::<RunLength>(), Ok(RunLength::Forever));
    }
}
