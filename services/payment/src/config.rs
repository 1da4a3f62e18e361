//! Configuration from the environment; a malformed value stops start-up naming the variable.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use apiary_chassis::env::{self, EnvError, ProcessEnv, Source};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `APIARY_HOST`: the address to bind; loopback unless told otherwise.
    pub host: IpAddr,
    /// `APIARY_PORT`: 8005 by default; 0 picks a free port (tests).
    pub port: u16,
    /// `APIARY_DATA_DIR`: where `payment.sqlite3` lives (default `.apiary/data`).
    pub data_dir: PathBuf,
    /// `PAYMENT_LATENCY_MS`: the simulated provider's think time before each decision
    /// (default 25 ms). It is what a "payment provider slows down" drill stretches, and what
    /// makes a SIGKILL land mid-charge in the end-to-end test.
    pub latency: Duration,
    /// `PAYMENT_KEY_RETENTION_S` (86400): how long a declined key or a tombstone (a void that
    /// found no charge) is remembered; charges themselves are kept.
    pub key_retention: Duration,
}

/// The simulated provider's default think time.
pub const DEFAULT_LATENCY: Duration = Duration::from_millis(25);

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let (host, port) = apiary_chassis::config::listen_address(src, 8005)?;
        Ok(Self {
            host,
            port,
            data_dir: apiary_chassis::config::data_dir(src),
            latency: env::millis_or(src, "PAYMENT_LATENCY_MS", DEFAULT_LATENCY)?,
            key_retention: Duration::from_secs(env::parse_or(
                src,
                "PAYMENT_KEY_RETENTION_S",
                86_400_u64,
                "a number of seconds",
            )?),
        })
    }

    /// Loopback on port 0, data in `data_dir`, no simulated latency: what tests use.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            data_dir: data_dir.into(),
            latency: Duration::ZERO,
            key_retention: Duration::from_secs(86_400),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_loopback_on_8005_with_a_small_latency() {
        let cfg = Config::from_source(&[("UNRELATED", "x")]).expect("defaults");
        assert_eq!(cfg.port, 8005);
        assert!(cfg.host.is_loopback());
        assert_eq!(cfg.data_dir, PathBuf::from(".apiary/data"));
        assert_eq!(cfg.latency, DEFAULT_LATENCY);
    }

    #[test]
    fn the_environment_overrides_the_defaults() {
        let cfg = Config::from_source(&[
            ("APIARY_DATA_DIR", "/var/lib/apiary"),
            ("PAYMENT_LATENCY_MS", "400"),
        ])
        .expect("valid");
        assert_eq!(cfg.data_dir, PathBuf::from("/var/lib/apiary"));
        assert_eq!(cfg.latency, Duration::from_millis(400));
    }

    #[test]
    fn malformed_values_name_the_variable() {
        let err = Config::from_source(&[("PAYMENT_LATENCY_MS", "1s")]).expect_err("unit");
        assert_eq!(err.var, "PAYMENT_LATENCY_MS");
        let err = Config::from_source(&[("APIARY_PORT", "99999")]).expect_err("bad port");
        assert_eq!(err.var, "APIARY_PORT");
    }
}
