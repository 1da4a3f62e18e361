//! Configuration from the environment; a malformed value stops start-up naming the variable.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use apiary_telemetry::env::{self, EnvError, ProcessEnv, Source};

use crate::saga::CrashPoint;

/// One downstream: where it is and how long one call may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downstream {
    pub url: String,
    pub timeout: Duration,
}

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

fn downstream(
    src: &impl Source,
    name: &str,
    default_port: u16,
    default_timeout_ms: u64,
) -> Result<Downstream, EnvError> {
    Ok(Downstream {
        url: env::url_or(
            src,
            &format!("{name}_URL"),
            &format!("http://127.0.0.1:{default_port}"),
        )?,
        timeout: env::millis_or(
            src,
            &format!("{name}_TIMEOUT_MS"),
            Duration::from_millis(default_timeout_ms),
        )?,
    })
}

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let (host, port) = env::listen_address(src, 8003)?;
        Ok(Self {
            host,
            port,
            cart: downstream(src, "CART", 8002, 1000)?,
            catalog: downstream(src, "CATALOG", 8001, 1000)?,
            inventory: downstream(src, "INVENTORY", 8004, 2000)?,
            shipping: downstream(src, "SHIPPING", 8006, 1000)?,
            payment: downstream(src, "PAYMENT", 8005, 3000)?,
            orders: downstream(src, "ORDERS", 8009, 2000)?,
            compensation_retry: env::millis_or(
                src,
                "CHECKOUT_COMPENSATION_RETRY_MS",
                Duration::from_millis(500),
            )?,
            data_dir: env::raw(src, "APIARY_DATA_DIR")
                .map_or_else(|| PathBuf::from(".apiary/data"), PathBuf::from),
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
