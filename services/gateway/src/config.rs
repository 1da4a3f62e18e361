//! Configuration from the environment; a malformed value stops start-up naming the variable.

use std::net::IpAddr;
use std::time::Duration;

use apiary_telemetry::env::{self, EnvError, ProcessEnv, Source};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `APIARY_HOST`: loopback unless told otherwise.
    pub host: IpAddr,
    /// `APIARY_PORT`: 8000 by default.
    pub port: u16,
    /// `CATALOG_URL`: the catalog's base URL.
    pub catalog_url: String,
    /// `CATALOG_TIMEOUT_MS`: the budget of one catalog call (default 2000).
    pub catalog_timeout: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let (host, port) = env::listen_address(src, 8000)?;
        Ok(Self {
            host,
            port,
            catalog_url: env::url_or(src, "CATALOG_URL", "http://127.0.0.1:8001")?,
            catalog_timeout: env::millis_or(src, "CATALOG_TIMEOUT_MS", Duration::from_secs(2))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_point_at_the_local_catalog() {
        let cfg = Config::from_source(&[("X", "")]).expect("defaults");
        assert_eq!(cfg.port, 8000);
        assert_eq!(cfg.catalog_url, "http://127.0.0.1:8001");
    }

    #[test]
    fn malformed_values_name_the_variable() {
        let err = Config::from_source(&[("CATALOG_URL", "catalog:8001")]).expect_err("no scheme");
        assert_eq!(err.var, "CATALOG_URL");
        assert!(err.to_string().contains("http://"));
        let err = Config::from_source(&[("CATALOG_TIMEOUT_MS", "2s")]).expect_err("unit");
        assert_eq!(err.var, "CATALOG_TIMEOUT_MS");
    }
}
