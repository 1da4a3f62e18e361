//! Configuration from the environment; a malformed value stops start-up naming the variable.

use std::net::IpAddr;
use std::path::PathBuf;

use apiary_bus::BrokerConfig;
use apiary_chassis::env::{EnvError, ProcessEnv, Source};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `APIARY_HOST`: the address to bind; loopback unless told otherwise.
    pub host: IpAddr,
    /// `APIARY_PORT`: 8009 by default; 0 picks a free port (tests).
    pub port: u16,
    /// `APIARY_DATA_DIR`: where `orders.sqlite3` lives (default `.apiary/data`).
    pub data_dir: PathBuf,
    /// `APIARY_BROKER_URL`: where order events go; unset, they wait in the outbox.
    pub broker: BrokerConfig,
}

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let (host, port) = apiary_chassis::config::listen_address(src, 8009)?;
        Ok(Self {
            host,
            port,
            data_dir: apiary_chassis::config::data_dir(src),
            broker: BrokerConfig::from_source(src)?,
        })
    }

    /// Loopback on port 0 with its data in `data_dir` (a temporary directory): what tests use.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            data_dir: data_dir.into(),
            broker: BrokerConfig::none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_loopback_on_8009() {
        let cfg = Config::from_source(&[("UNRELATED", "x")]).expect("defaults");
        assert_eq!(cfg.port, 8009);
        assert!(cfg.host.is_loopback());
        assert_eq!(cfg.data_dir, PathBuf::from(".apiary/data"));
    }

    #[test]
    fn the_data_dir_comes_from_the_environment() {
        let cfg = Config::from_source(&[("APIARY_DATA_DIR", "/srv/apiary")]).expect("valid");
        assert_eq!(cfg.data_dir, PathBuf::from("/srv/apiary"));
    }

    #[test]
    fn malformed_values_name_the_variable() {
        let err = Config::from_source(&[("APIARY_HOST", "localhost:80")]).expect_err("bad host");
        assert_eq!(err.var, "APIARY_HOST");
        let err = Config::from_source(&[("APIARY_PORT", "99999")]).expect_err("bad port");
        assert_eq!(err.var, "APIARY_PORT");
    }
}
