//! The catalog service: the shop's products (books, music, video), their prices and search.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `CATALOG_SEED`).
//! - [`startup`] — [`build`]: the service declared on the chassis's
//!   [`apiary_chassis::ServiceBuilder`] (the product store loaded from the seed), bound (port 0 in tests);
//!   [`startup::service`] is the same service for socket-free tests.
//! - [`domain`] — types that parse: [`domain::ProductId`], [`domain::Category`],
//!   [`domain::ListQuery`]. Invalid input cannot get past the edge.
//! - [`store`] — the product store: loaded once from the deterministic seed in `data/`, read
//!   concurrently, never written (read-heavy by design).
//! - [`routes`] — the HTTP API and its [`routes::AppError`]; `GET /openapi.json`.
//!
//! Serving, health endpoints, resilience, faults and graceful shutdown come from
//! `apiary-chassis`; telemetry from `apiary-telemetry`.

pub mod config;
pub mod domain;
pub mod routes;
pub mod startup;
pub mod store;

pub use config::Config;
pub use startup::{StartError, build};

/// Who this service is, for telemetry.
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "catalog",
    version: env!("CARGO_PKG_VERSION"),
};
