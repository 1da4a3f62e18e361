//! The gateway: the shop's edge API, and the only service shoppers (and the load generator)
//! talk to.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `CATALOG_URL`, `CATALOG_TIMEOUT_MS`).
//! - [`startup`] — [`Application`]: build (binds; port 0 in tests), `port()`,
//!   `run_until_stopped(shutdown)`.
//! - [`clients`] — one typed client per downstream ([`clients::CatalogClient`]), built on the
//!   telemetry crate's traced HTTP client and tested against wiremock.
//! - [`routes`] — `/api/...` handlers and [`routes::AppError`], which maps downstream failures
//!   to 502/503/504 and relays a downstream's 4xx verdict on the shopper's input unchanged.

pub mod clients;
pub mod config;
pub mod routes;
pub mod startup;

pub use config::Config;
pub use startup::Application;

/// Who this service is, for telemetry.
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "gateway",
    version: env!("CARGO_PKG_VERSION"),
};
