//! Configuration from the environment; a malformed value stops start-up naming the variable.

use std::net::IpAddr;
use std::time::Duration;

use apiary_chassis::env::{self, EnvError, ProcessEnv, Source};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `APIARY_HOST`: the address to bind; loopback unless told otherwise.
    pub host: IpAddr,
    /// `APIARY_PORT`: 8002 by default; 0 picks a free port (tests).
    pub port: u16,
    /// `CART_TTL_SECS`: a cart untouched this long is gone (default 1800). Sliding: every
    /// read or change of the cart starts it again.
    pub ttl: Duration,
    /// `CART_MAX_CARTS`: the most carts held (default 100000); past it the least recently
    /// touched cart is evicted, so memory stays bounded whatever the traffic.
    pub max_carts: usize,
    /// `CART_SWEEP_MS`: how often expired carts are dropped (default 5000). Reads never see
    /// an expired cart either way; the sweep only frees memory and keeps the gauges honest.
    pub sweep_interval: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let (host, port) = apiary_chassis::config::listen_address(src, 8002)?;
        let ttl_secs = env::count_or(src, "CART_TTL_SECS", 1800)?;
        let sweep_interval = env::millis_or(src, "CART_SWEEP_MS", Duration::from_secs(5))?;
        if sweep_interval.is_zero() {
            return Err(EnvError {
                var: "CART_SWEEP_MS".to_owned(),
                expected: "a whole number of milliseconds greater than 0".to_owned(),
                found: "0".to_owned(),
            });
        }
        Ok(Self {
            host,
            port,
            ttl: Duration::from_secs(ttl_secs as u64),
            max_carts: env::count_or(src, "CART_MAX_CARTS", 100_000)?,
            sweep_interval,
        })
    }

    /// Loopback on port 0 with the production limits: what tests start from.
    pub fn for_tests() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            ttl: Duration::from_secs(1800),
            max_carts: 100_000,
            sweep_interval: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_loopback_on_8002_with_a_half_hour_ttl() {
        let cfg = Config::from_source(&[("UNRELATED", "x")]).expect("defaults");
        assert_eq!(cfg.port, 8002);
        assert!(cfg.host.is_loopback());
        assert_eq!(cfg.ttl, Duration::from_secs(1800));
        assert_eq!(cfg.max_carts, 100_000);
        assert_eq!(cfg.sweep_interval, Duration::from_secs(5));
    }

    #[test]
    fn limits_are_read_from_the_environment() {
        let cfg = Config::from_source(&[
            ("CART_TTL_SECS", "60"),
            ("CART_MAX_CARTS", "10"),
            ("CART_SWEEP_MS", "250"),
        ])
        .expect("valid");
        assert_eq!(cfg.ttl, Duration::from_secs(60));
        assert_eq!(cfg.max_carts, 10);
        assert_eq!(cfg.sweep_interval, Duration::from_millis(250));
    }

    #[test]
    fn malformed_values_name_the_variable() {
        for (var, value) in [
            ("CART_TTL_SECS", "0"),
            ("CART_TTL_SECS", "30m"),
            ("CART_MAX_CARTS", "-1"),
            ("CART_SWEEP_MS", "0"),
            ("APIARY_PORT", "99999"),
        ] {
            let err = Config::from_source(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, var);
        }
    }
}
