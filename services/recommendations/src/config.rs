//! Configuration from the environment; a malformed value stops start-up naming the variable.

use std::net::IpAddr;
use std::path::PathBuf;

use apiary_bus::BrokerConfig;
use apiary_chassis::env::{EnvError, ProcessEnv, Source};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `APIARY_HOST`: the address to bind; loopback unless told otherwise.
    pub host: IpAddr,
    /// `APIARY_PORT`: 8008 by default; 0 picks a free port (tests).
    pub port: u16,
    /// `APIARY_DATA_DIR`: where `recommendations.sqlite3` (the learned baskets) lives.
    pub data_dir: PathBuf,
    /// `APIARY_BROKER_URL`: where the order events come from; unset, the model learns nothing
    /// new (and answers with similar products).
    pub broker: BrokerConfig,
}

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let (host, port) = apiary_chassis::config::listen_address(src, 8008)?;
        Ok(Self {
            host,
            port,
            data_dir: apiary_chassis::config::data_dir(src),
            broker: BrokerConfig::from_source(src)?,
        })
    }

    /// Loopback on port 0 with its data in `data_dir`, learning from `broker`: what tests use.
    pub fn for_tests(data_dir: impl Into<PathBuf>, broker: BrokerConfig) -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            data_dir: data_dir.into(),
            broker,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_loopback_on_8008_without_a_broker() {
        let cfg = Config::from_source(&[("UNRELATED", "x")]).expect("defaults");
        assert_eq!(cfg.port, 8008);
        assert!(cfg.host.is_loopback());
        assert_eq!(cfg.broker.url(), None);
        assert_eq!(cfg.data_dir, PathBuf::from(".apiary/data"));
    }

    #[test]
    fn malformed_values_name_the_variable() {
        let err = Config::from_source(&[("APIARY_BROKER_URL", "localhost")]).expect_err("bad url");
        assert_eq!(err.var, "APIARY_BROKER_URL");
        let err = Config::from_source(&[("APIARY_PORT", "99999")]).expect_err("bad port");
        assert_eq!(err.var, "APIARY_PORT");
    }
}
