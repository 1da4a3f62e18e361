//! Configuration from the environment; a malformed value stops start-up naming the variable.

use std::net::IpAddr;
use std::time::Duration;

use apiary_chassis::Downstream;
use apiary_chassis::env::{self, EnvError, ProcessEnv, Source};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `APIARY_HOST`: the address to bind; loopback unless told otherwise.
    pub host: IpAddr,
    /// `APIARY_PORT`: 8008 by default; 0 picks a free port (tests).
    pub port: u16,
    /// `ORDERS_URL`, `ORDERS_TIMEOUT_MS`: the orders service, whose feed the model learns
    /// from, and the budget of one feed call (default 1000).
    pub orders: Downstream,
    /// `RECOMMENDATIONS_POLL_MS`: how often the feed is polled (default 2000).
    pub poll_interval: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let (host, port) = apiary_chassis::config::listen_address(src, 8008)?;
        let poll_interval = env::millis_or(src, "RECOMMENDATIONS_POLL_MS", Duration::from_secs(2))?;
        if poll_interval.is_zero() {
            return Err(EnvError {
                var: "RECOMMENDATIONS_POLL_MS".to_owned(),
                expected: "a whole number of milliseconds greater than 0".to_owned(),
                found: "0".to_owned(),
            });
        }
        Ok(Self {
            host,
            port,
            orders: Downstream::from_source(src, "ORDERS", 8009, 1000)?,
            poll_interval,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_point_at_the_local_orders_service() {
        let cfg = Config::from_source(&[("UNRELATED", "x")]).expect("defaults");
        assert_eq!(cfg.port, 8008);
        assert!(cfg.host.is_loopback());
        assert_eq!(cfg.orders.url, "http://127.0.0.1:8009");
        assert_eq!(cfg.orders.timeout, Duration::from_secs(1));
        assert_eq!(cfg.poll_interval, Duration::from_secs(2));
    }

    #[test]
    fn malformed_values_name_the_variable() {
        for (var, value) in [
            ("ORDERS_URL", "orders:8009"),
            ("ORDERS_TIMEOUT_MS", "1s"),
            ("RECOMMENDATIONS_POLL_MS", "0"),
            ("RECOMMENDATIONS_POLL_MS", "fast"),
        ] {
            let err = Config::from_source(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, var);
        }
    }
}
