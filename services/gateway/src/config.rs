//! Configuration from the environment; a malformed value stops start-up naming the variable.

use std::net::IpAddr;

use apiary_chassis::env::{self, EnvError, ProcessEnv, Source};
use apiary_chassis::resilience::BreakerConfig;

pub use apiary_chassis::Downstream;

/// Requests the gateway serves at once before it sheds with a fast 503 (`APIARY_MAX_IN_FLIGHT`).
///
/// The edge admits about what the shop can serve without queueing, not the 512 every inner
/// service allows: at twice its capacity, admitting 512 product pages at once (each six calls
/// inside) stretched answers to about a second, past the inner calls' budgets, and goodput fell
/// to 56-95% of capacity (median 72%) on this 2-core machine; at 64-128 it was 62-101%
/// (median 91%) with the slowest answer under 0.5 s. By Little's law 96 allows about 2,700
/// product pages a second at 35 ms each; raise it on a larger machine.
pub const EDGE_MAX_IN_FLIGHT: usize = 96;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `APIARY_HOST`: loopback unless told otherwise.
    pub host: IpAddr,
    /// `APIARY_PORT`: 8000 by default.
    pub port: u16,
    /// `CATALOG_*` (:8001, 2000 ms): products and categories; without it there is no shop.
    pub catalog: Downstream,
    /// `CART_*` (:8002, 1000 ms).
    pub cart: Downstream,
    /// `CHECKOUT_*` (:8003, 10000 ms): the saga reserves, quotes, charges and records, so it
    /// gets the longest budget.
    pub checkout: Downstream,
    /// `INVENTORY_*` (:8004, 500 ms): stock on the product page and before adding to a cart.
    pub inventory: Downstream,
    /// `REVIEWS_*` (:8007, 400 ms): an optional part of the product page, so a short budget.
    pub reviews: Downstream,
    /// `RECOMMENDATIONS_*` (:8008, 400 ms): optional and known to be slow at times.
    pub recommendations: Downstream,
    /// `ORDERS_*` (:8009, 1000 ms).
    pub orders: Downstream,
    /// `APIARY_MAX_IN_FLIGHT` ([`EDGE_MAX_IN_FLIGHT`]): requests served at once; more are shed.
    pub max_in_flight: usize,
    /// Circuit-breaker settings for every client; `None` keeps the telemetry crate's defaults.
    /// Not read from the environment: tests set it to get short cool-downs.
    pub breaker: Option<BreakerConfig>,
}

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let (host, port) = apiary_chassis::config::listen_address(src, 8000)?;
        Ok(Self {
            host,
            port,
            catalog: Downstream::from_source(src, "CATALOG", 8001, 2000)?,
            cart: Downstream::from_source(src, "CART", 8002, 1000)?,
            checkout: Downstream::from_source(src, "CHECKOUT", 8003, 10_000)?,
            inventory: Downstream::from_source(src, "INVENTORY", 8004, 500)?,
            reviews: Downstream::from_source(src, "REVIEWS", 8007, 400)?,
            recommendations: Downstream::from_source(src, "RECOMMENDATIONS", 8008, 400)?,
            orders: Downstream::from_source(src, "ORDERS", 8009, 1000)?,
            max_in_flight: env::count_or(src, "APIARY_MAX_IN_FLIGHT", EDGE_MAX_IN_FLIGHT)?,
            breaker: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn defaults_point_at_the_local_services() {
        let cfg = Config::from_source(&[("X", "")]).expect("defaults");
        assert_eq!(cfg.port, 8000);
        assert_eq!(cfg.catalog.url, "http://127.0.0.1:8001");
        assert_eq!(cfg.catalog.timeout, Duration::from_millis(2000));
        assert_eq!(cfg.cart.url, "http://127.0.0.1:8002");
        assert_eq!(cfg.checkout.url, "http://127.0.0.1:8003");
        assert_eq!(cfg.checkout.timeout, Duration::from_secs(10));
        assert_eq!(cfg.inventory.url, "http://127.0.0.1:8004");
        assert_eq!(cfg.inventory.timeout, Duration::from_millis(500));
        assert_eq!(cfg.reviews.url, "http://127.0.0.1:8007");
        assert_eq!(cfg.recommendations.url, "http://127.0.0.1:8008");
        assert_eq!(cfg.recommendations.timeout, Duration::from_millis(400));
        assert_eq!(cfg.orders.url, "http://127.0.0.1:8009");
        assert_eq!(cfg.max_in_flight, EDGE_MAX_IN_FLIGHT);
        assert_eq!(cfg.breaker, None);
    }

    #[test]
    fn each_downstream_is_configured_by_its_own_variables() {
        let cfg = Config::from_source(&[
            ("REVIEWS_URL", "http://reviews:9000"),
            ("REVIEWS_TIMEOUT_MS", "150"),
        ])
        .expect("config");
        assert_eq!(cfg.reviews.url, "http://reviews:9000");
        assert_eq!(cfg.reviews.timeout, Duration::from_millis(150));
        assert_eq!(cfg.recommendations.timeout, Duration::from_millis(400));
    }

    #[test]
    fn malformed_values_name_the_variable() {
        let err = Config::from_source(&[("CATALOG_URL", "catalog:8001")]).expect_err("no scheme");
        assert_eq!(err.var, "CATALOG_URL");
        assert!(err.to_string().contains("http://"));
        let err = Config::from_source(&[("CHECKOUT_TIMEOUT_MS", "2s")]).expect_err("unit");
        assert_eq!(err.var, "CHECKOUT_TIMEOUT_MS");
        let err = Config::from_source(&[("APIARY_MAX_IN_FLIGHT", "0")]).expect_err("zero");
        assert_eq!(err.var, "APIARY_MAX_IN_FLIGHT");
        let cfg = Config::from_source(&[("APIARY_MAX_IN_FLIGHT", "300")]).expect("config");
        assert_eq!(cfg.max_in_flight, 300);
    }
}
