//! Configuration from the environment; a malformed value stops start-up naming the variable.

use std::net::IpAddr;
use std::path::PathBuf;

use apiary_chassis::env::{self, EnvError, ProcessEnv, Source};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `APIARY_HOST`: the address to bind; loopback unless told otherwise.
    pub host: IpAddr,
    /// `APIARY_PORT`: 8001 by default; 0 picks a free port (tests).
    pub port: u16,
    /// `CATALOG_SEED`: a JSON product file replacing the built-in seed.
    pub seed: Option<PathBuf>,
}

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let (host, port) = apiary_chassis::config::listen_address(src, 8001)?;
        Ok(Self {
            host,
            port,
            seed: env::raw(src, "CATALOG_SEED").map(PathBuf::from),
        })
    }

    /// Loopback on port 0 with the built-in seed: what tests use.
    pub fn for_tests() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            seed: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_loopback_on_8001() {
        let cfg = Config::from_source(&[("UNRELATED", "x")]).expect("defaults");
        assert_eq!(cfg.port, 8001);
        assert!(cfg.host.is_loopback());
    }

    #[test]
    fn malformed_values_name_the_variable() {
        let err = Config::from_source(&[("APIARY_HOST", "localhost:80")]).expect_err("bad host");
        assert_eq!(err.var, "APIARY_HOST");
        let err = Config::from_source(&[("APIARY_PORT", "99999")]).expect_err("bad port");
        assert_eq!(err.var, "APIARY_PORT");
    }
}
