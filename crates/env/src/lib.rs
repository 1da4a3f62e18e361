//! `apiary-env`: typed reads of environment variables, with no dependencies.
//!
//! Every service, the telemetry setup and the tools read their configuration through these helpers so that a
//! malformed value stops start-up with one message that names the variable, the expected form and
//! what was found, instead of a panic or a silently applied default.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A variable that is set but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvError {
    /// The variable's name, e.g. `APIARY_PORT`.
    pub var: String,
    /// What a valid value looks like, e.g. `a port number 0-65535`.
    pub expected: String,
    /// The value that was found (never a secret: callers use [`secret`] for those).
    pub found: String,
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "environment variable {} is malformed: expected {}, found {:?}",
            self.var, self.expected, self.found
        )
    }
}

impl std::error::Error for EnvError {}

/// Where values come from. Production reads the process environment; tests pass a map so that
/// they never mutate global state shared by parallel test threads.
pub trait Source {
    fn get(&self, var: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, var: &str) -> Option<String> {
        std::env::var(var).ok()
    }
}

impl Source for std::collections::HashMap<String, String> {
    fn get(&self, var: &str) -> Option<String> {
        self.get(var).cloned()
    }
}

impl<const N: usize> Source for [(&str, &str); N] {
    fn get(&self, var: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == var)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// Reads `var`; empty values count as unset, as the OpenTelemetry specification asks.
pub fn raw(src: &impl Source, var: &str) -> Option<String> {
    src.get(var)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Parses `var` with `FromStr`, or returns `default` when it is unset.
pub fn parse_or<T: FromStr>(
    src: &impl Source,
    var: &str,
    default: T,
    expected: &str,
) -> Result<T, EnvError> {
    match raw(src, var) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| EnvError {
            var: var.to_owned(),
            expected: expected.to_owned(),
            found: v,
        }),
    }
}

/// A TCP port.
pub fn port_or(src: &impl Source, var: &str, default: u16) -> Result<u16, EnvError> {
    parse_or(src, var, default, "a port number 0-65535")
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`), case-insensitive.
pub fn bool_or(src: &impl Source, var: &str, default: bool) -> Result<bool, EnvError> {
    match raw(src, var) {
        None => Ok(default),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(EnvError {
                var: var.to_owned(),
                expected: "true or false".to_owned(),
                found: v,
            }),
        },
    }
}

/// A duration in whole milliseconds (the unit the `OTEL_*` variables use).
pub fn millis_or(src: &impl Source, var: &str, default: Duration) -> Result<Duration, EnvError> {
    match raw(src, var) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| EnvError {
                var: var.to_owned(),
                expected: "a whole number of milliseconds".to_owned(),
                found: v,
            }),
    }
}

/// A positive count (queue sizes, batch sizes).
pub fn count_or(src: &impl Source, var: &str, default: usize) -> Result<usize, EnvError> {
    match raw(src, var) {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(EnvError {
                var: var.to_owned(),
                expected: "a whole number greater than 0".to_owned(),
                found: v,
            }),
        },
    }
}

/// An `http://` or `https://` base URL without a trailing slash.
pub fn url_or(src: &impl Source, var: &str, default: &str) -> Result<String, EnvError> {
    let v = raw(src, var).unwrap_or_else(|| default.to_owned());
    let ok = (v.starts_with("http://") || v.starts_with("https://"))
        && v.split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty());
    if ok {
        Ok(v.trim_end_matches('/').to_owned())
    } else {
        Err(EnvError {
            var: var.to_owned(),
            expected: "an http:// or https:// URL, e.g. http://127.0.0.1:8001".to_owned(),
            found: v,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_and_empty_values_take_the_default() {
        let src = [("A", ""), ("B", "  ")];
        assert_eq!(port_or(&src, "A", 8001), Ok(8001));
        assert_eq!(port_or(&src, "B", 8001), Ok(8001));
        assert_eq!(port_or(&src, "C", 8001), Ok(8001));
    }

    #[test]
    fn malformed_values_name_the_variable_and_the_form() {
        let src = [("APIARY_PORT", "eighty"), ("FLAG", "maybe"), ("N", "0")];
        let err = port_or(&src, "APIARY_PORT", 1).expect_err("malformed");
        assert_eq!(err.var, "APIARY_PORT");
        let msg = err.to_string();
        assert!(
            msg.contains("APIARY_PORT") && msg.contains("port number") && msg.contains("eighty"),
            "{msg}"
        );
        assert!(
            bool_or(&src, "FLAG", false)
                .expect_err("malformed")
                .to_string()
                .contains("true or false")
        );
        assert!(count_or(&src, "N", 1).is_err());
    }

    #[test]
    fn urls_must_have_a_scheme_and_lose_their_trailing_slash() {
        let src = [
            ("GOOD", "http://127.0.0.1:8001/"),
            ("BAD", "127.0.0.1:8001"),
        ];
        assert_eq!(
            url_or(&src, "GOOD", "x").as_deref(),
            Ok("http://127.0.0.1:8001")
        );
        assert!(url_or(&src, "BAD", "x").is_err());
        assert!(url_or(&src, "UNSET", "http://").is_err());
    }

    #[test]
    fn booleans_accept_the_usual_spellings() {
        let src = [("A", "TRUE"), ("B", "0"), ("C", "yes")];
        assert_eq!(bool_or(&src, "A", false), Ok(true));
        assert_eq!(bool_or(&src, "B", true), Ok(false));
        assert_eq!(bool_or(&src, "C", false), Ok(true));
    }
}
