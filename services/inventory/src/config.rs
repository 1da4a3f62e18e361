//! Configuration from the environment; a malformed value stops start-up naming the variable.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use apiary_chassis::env::{self, EnvError, ProcessEnv, Source};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `APIARY_HOST`: the address to bind; loopback unless told otherwise.
    pub host: IpAddr,
    /// `APIARY_PORT`: 8004 by default; 0 picks a free port (tests).
    pub port: u16,
    /// `APIARY_DATA_DIR`: where `inventory.sqlite3` lives (default `.apiary/data`).
    pub data_dir: PathBuf,
    /// `INVENTORY_HOLD_SECS`: how long a reservation holds stock before the sweeper releases
    /// it (default 600). Long enough for any checkout, short enough that an abandoned one
    /// does not keep stock off the shelf for long.
    pub hold: Duration,
    /// `INVENTORY_SWEEP_MS`: how often expired holds are released and the stock gauges
    /// refreshed (default 2000).
    pub sweep_every: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let (host, port) = apiary_chassis::config::listen_address(src, 8004)?;
        let hold_secs = env::count_or(src, "INVENTORY_HOLD_SECS", 600)?;
        let sweep_every = env::millis_or(src, "INVENTORY_SWEEP_MS", Duration::from_secs(2))?;
        if sweep_every.is_zero() {
            return Err(EnvError {
                var: "INVENTORY_SWEEP_MS".to_owned(),
                expected: "a whole number of milliseconds greater than 0".to_owned(),
                found: "0".to_owned(),
            });
        }
        Ok(Self {
            host,
            port,
            data_dir: apiary_chassis::config::data_dir(src),
            hold: Duration::from_secs(u64::try_from(hold_secs).unwrap_or(u64::MAX)),
            sweep_every,
        })
    }

    /// Loopback on port 0 with its data in `data_dir` (a temporary directory): what tests use.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            data_dir: data_dir.into(),
            hold: Duration::from_secs(600),
            sweep_every: Duration::from_millis(200),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_loopback_on_8004_with_ten_minute_holds() {
        let cfg = Config::from_source(&[("UNRELATED", "x")]).expect("defaults");
        assert_eq!(cfg.port, 8004);
        assert!(cfg.host.is_loopback());
        assert_eq!(cfg.data_dir, PathBuf::from(".apiary/data"));
        assert_eq!(cfg.hold, Duration::from_secs(600));
        assert_eq!(cfg.sweep_every, Duration::from_secs(2));
    }

    #[test]
    fn values_are_read_from_the_environment() {
        let cfg = Config::from_source(&[
            ("APIARY_DATA_DIR", "/var/lib/apiary"),
            ("INVENTORY_HOLD_SECS", "30"),
            ("INVENTORY_SWEEP_MS", "250"),
        ])
        .expect("valid");
        assert_eq!(cfg.data_dir, PathBuf::from("/var/lib/apiary"));
        assert_eq!(cfg.hold, Duration::from_secs(30));
        assert_eq!(cfg.sweep_every, Duration::from_millis(250));
    }

    #[test]
    fn malformed_values_name_the_variable() {
        for (var, value) in [
            ("APIARY_PORT", "99999"),
            ("INVENTORY_HOLD_SECS", "0"),
            ("INVENTORY_HOLD_SECS", "ten"),
            ("INVENTORY_SWEEP_MS", "0"),
            ("INVENTORY_SWEEP_MS", "2s"),
        ] {
            let err = Config::from_source(&[(var, value)]).expect_err(value);
            assert_eq!(err.var, var);
        }
    }
}
