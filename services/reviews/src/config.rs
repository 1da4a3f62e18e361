//! Configuration from the environment; a malformed value stops start-up naming the variable.

use std::net::IpAddr;
use std::path::PathBuf;

use apiary_chassis::env::{self, EnvError, ProcessEnv, Source};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `APIARY_HOST`: the address to bind; loopback unless told otherwise.
    pub host: IpAddr,
    /// `APIARY_PORT`: 8007 by default; 0 picks a free port (tests).
    pub port: u16,
    /// `APIARY_DATA_DIR`: where `reviews.sqlite3` lives (default `.apiary/data`).
    pub data_dir: PathBuf,
    /// `REVIEWS_SEED`: fill an empty database with the deterministic seed reviews (default
    /// true). Off gives tests (and anyone who wants it) a shop without reviews.
    pub seed_reviews: bool,
}

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let (host, port) = apiary_chassis::config::listen_address(src, 8007)?;
        Ok(Self {
            host,
            port,
            data_dir: apiary_chassis::config::data_dir(src),
            seed_reviews: env::bool_or(src, "REVIEWS_SEED", true)?,
        })
    }

    /// Loopback on port 0 with data in `data_dir`: what tests use.
    pub fn for_tests(data_dir: impl Into<PathBuf>, seed_reviews: bool) -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            data_dir: data_dir.into(),
            seed_reviews,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_loopback_on_8007_and_seed() {
        let cfg = Config::from_source(&[("UNRELATED", "x")]).expect("defaults");
        assert_eq!(cfg.port, 8007);
        assert!(cfg.host.is_loopback());
        assert_eq!(cfg.data_dir, PathBuf::from(".apiary/data"));
        assert!(cfg.seed_reviews);
    }

    #[test]
    fn the_environment_overrides_the_defaults() {
        let cfg = Config::from_source(&[("APIARY_DATA_DIR", "/data"), ("REVIEWS_SEED", "false")])
            .expect("valid");
        assert_eq!(cfg.data_dir, PathBuf::from("/data"));
        assert!(!cfg.seed_reviews);
    }

    #[test]
    fn malformed_values_name_the_variable() {
        let err = Config::from_source(&[("REVIEWS_SEED", "maybe")]).expect_err("not a bool");
        assert_eq!(err.var, "REVIEWS_SEED");
        let err = Config::from_source(&[("APIARY_HOST", "localhost")]).expect_err("bad host");
        assert_eq!(err.var, "APIARY_HOST");
    }
}
