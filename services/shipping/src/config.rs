//! Configuration from the environment; a malformed value stops start-up naming the variable.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use apiary_bus::BrokerConfig;
use apiary_chassis::env::{self, EnvError, ProcessEnv, Source};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `APIARY_HOST`: the address to bind; loopback unless told otherwise.
    pub host: IpAddr,
    /// `APIARY_PORT`: 8006 by default; 0 picks a free port (tests).
    pub port: u16,
    /// `SHIPPING_QUOTE_TTL_SECS`: how long a quote holds (default 1800): long enough for a
    /// shopper to finish checkout, short enough that prices can change.
    pub quote_ttl: Duration,
    /// `SHIPPING_MAX_QUOTES`: quotes remembered at most (default 100000); the oldest go first,
    /// so memory stays bounded whatever the traffic.
    pub max_quotes: usize,
    /// `APIARY_DATA_DIR`: where `shipping.sqlite3` (the shipments) lives.
    pub data_dir: PathBuf,
    /// `APIARY_BROKER_URL`: where the order events come from; unset, no shipment is created.
    pub broker: BrokerConfig,
    /// `SHIPPING_DISPATCH_AFTER_MS`: how long a shipment waits for the (simulated) warehouse
    /// before it ships (default 5000).
    pub dispatch_after: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let (host, port) = apiary_chassis::config::listen_address(src, 8006)?;
        let ttl_secs = env::count_or(src, "SHIPPING_QUOTE_TTL_SECS", 1800)?;
        Ok(Self {
            host,
            port,
            quote_ttl: Duration::from_secs(ttl_secs as u64),
            max_quotes: env::count_or(src, "SHIPPING_MAX_QUOTES", 100_000)?,
            data_dir: apiary_chassis::config::data_dir(src),
            broker: BrokerConfig::from_source(src)?,
            dispatch_after: env::millis_or(
                src,
                "SHIPPING_DISPATCH_AFTER_MS",
                Duration::from_secs(5),
            )?,
        })
    }

    /// Loopback on port 0 with the production limits, its data in `data_dir`, no broker: what
    /// tests start from.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            quote_ttl: Duration::from_secs(1800),
            max_quotes: 100_000,
            data_dir: data_dir.into(),
            broker: BrokerConfig::none(),
            dispatch_after: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_loopback_on_8006() {
        let cfg = Config::from_source(&[("UNRELATED", "x")]).expect("defaults");
        assert_eq!(cfg.port, 8006);
        assert!(cfg.host.is_loopback());
        assert_eq!(cfg.quote_ttl, Duration::from_secs(1800));
        assert_eq!(cfg.max_quotes, 100_000);
    }

    #[test]
    fn malformed_values_name_the_variable() {
        for (var, value) in [
            ("SHIPPING_QUOTE_TTL_SECS", "0"),
            ("SHIPPING_QUOTE_TTL_SECS", "half an hour"),
            ("SHIPPING_MAX_QUOTES", "-5"),
            ("APIARY_HOST", "localhost"),
        ] {
            let err = Config::from_source(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, var);
        }
    }
}
