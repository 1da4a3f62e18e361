//! Configuration from the environment; a malformed value stops start-up naming the variable.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use apiary_chassis::env::{self, EnvError, ProcessEnv, Source};

use crate::saga::CrashPoint;

pub use apiary_chassis::Downstream;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `APIARY_HOST`: loopback unless told otherwise.
    pub host: IpAddr,
    /// `APIARY_PORT`: 8003 by default.
    pub port: u16,
    /// `CART_URL`, `CART_TIMEOUT_MS` (1000).
    pub cart: Downstream,
    /// `CATALOG_URL`, `CATALOG_TIMEOUT_MS` (1000).
    pub catalog: Downstream,
    /// `INVENTORY_URL`, `INVENTORY_TIMEOUT_MS` (2000).
    pub inventory: Downstream,
    /// `SHIPPING_URL`, `SHIPPING_TIMEOUT_MS` (1000).
    pub shipping: Downstream,
    /// `PAYMENT_URL`, `PAYMENT_TIMEOUT_MS` (3000): the provider is the slow one.
    pub payment: Downstream,
    /// `ORDERS_URL`, `ORDERS_TIMEOUT_MS` (2000).
    pub orders: Downstream,
    /// `CHECKOUT_COMPENSATION_RETRY_MS` (500): first pause before retrying clean-up; doubles
    /// up to 5 s.
    pub compensation_retry: Duration,
    /// `APIARY_DATA_DIR`: where `checkout.sqlite3` (the saga log) lives (default `.apiary/data`).
    pub data_dir: PathBuf,
    /// `CHECKOUT_CRASH_AT` (`<step>:<before|after>`): a test hook that aborts the process at
    /// that point of every saga. Unset in real deployments.
    pub crash_at: Option<CrashPoint>,
}

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let (host, port) = apiary_chassis::config::listen_address(src, 8003)?;
        Ok(Self {
            host,
            port,
            cart: Downstream::from_source(src, "CART", 8002, 1000)?,
            catalog: Downstream::from_source(src, "CATALOG", 8001, 1000)?,
            inventory: Downstream::from_source(src, "INVENTORY", 8004, 2000)?,
            shipping: Downstream::from_source(src, "SHIPPING", 8006, 1000)?,
            payment: Downstream::from_source(src, "PAYMENT", 8005, 3000)?,
            orders: Downstream::from_source(src, "ORDERS", 8009, 2000)?,
            compensation_retry: env::millis_or(
                src,
                "CHECKOUT_COMPENSATION_RETRY_MS",
                Duration::from_millis(500),
            )?,
            data_dir: apiary_chassis::config::data_dir(src),
            crash_at: match env::raw(src, "CHECKOUT_CRASH_AT") {
                None => None,
                Some(raw) => Some(CrashPoint::parse(&raw).map_err(|_| EnvError {
                    var: "CHECKOUT_CRASH_AT".to_owned(),
                    expected: "<saga step>:<before|after>, e.g. charge_payment:after".to_owned(),
                    found: raw.clone(),
                })?),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_point_at_the_local_stack() {
        let cfg = Config::from_source(&[("X", "")]).expect("defaults");
        assert_eq!(cfg.port, 8003);
        assert!(cfg.host.is_loopback());
        assert_eq!(cfg.payment.url, "http://127.0.0.1:8005");
        assert_eq!(cfg.orders.url, "http://127.0.0.1:8009");
        assert_eq!(cfg.payment.timeout, Duration::from_secs(3));
    }

    #[test]
    fn malformed_values_name_the_variable() {
        let err = Config::from_source(&[("PAYMENT_URL", "payment:8005")]).expect_err("scheme");
        assert_eq!(err.var, "PAYMENT_URL");
        let err = Config::from_source(&[("INVENTORY_TIMEOUT_MS", "fast")]).expect_err("number");
        assert_eq!(err.var, "INVENTORY_TIMEOUT_MS");
        let err = Config::from_source(&[("CHECKOUT_CRASH_AT", "pay:now")]).expect_err("hook");
        assert_eq!(err.var, "CHECKOUT_CRASH_AT");
    }
}
