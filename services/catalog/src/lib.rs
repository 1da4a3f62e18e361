//! The catalog service: the shop's products (books, music, video), their prices and search.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `CATALOG_SEED`).
//! - [`startup`] — [`Application`]: binds its listener (port 0 in tests), exposes `port()`,
//!   then `run_until_stopped(shutdown)`.
//! - [`domain`] — types that parse: [`domain::ProductId`], [`domain::Category`],
//!   [`domain::ListQuery`]. Invalid input cannot get past the edge.
//! - [`store`] — the product store: loaded once from the deterministic seed in `data/`, read
//!   concurrently, never written (read-heavy by design).
//! - [`routes`] — the HTTP API and its [`routes::AppError`]; `GET /openapi.json`.
//!
//! Telemetry, health endpoints and graceful shutdown come from `apiary-telemetry`.

pub mod config;
pub mod domain;
pub mod routes;
pub mod startup;
pub mod store;

pub use config::Config;
pub use startup::Application;

/// Who this service is, for telemetry.
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "catalog",
    version: env!("CARGO_PKG_VERSION"),
};
