//! The inventory service: how many units of each product the shop has, and the reservations
//! that hold units while a checkout runs.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `APIARY_DATA_DIR`, `INVENTORY_HOLD_SECS`, `INVENTORY_SWEEP_MS`).
//! - [`startup`] — [`build`]: the service declared on the chassis's
//!   [`apiary_chassis::ServiceBuilder`] (the store opened and seeded, the reservation sweeper as background work), bound (port 0 in tests);
//!   [`startup::service`] is the same service for socket-free tests.
//! - [`domain`] — types that parse: [`domain::ProductId`], [`domain::ReservationId`],
//!   [`domain::ReserveStock`] (validated lines), [`domain::StockQuery`]. Invalid input cannot
//!   get past the edge.
//! - [`store`] — the durable state in SQLite (`<data dir>/inventory.sqlite3`): stock per
//!   product and reservations with their lines. Every change is one `BEGIN IMMEDIATE`
//!   transaction committed before the answer; `available + reserved + sold == initial` is a
//!   `CHECK` constraint, so no code path can break it.
//! - [`sweeper`] — the background task releasing holds whose time ran out.
//! - [`metrics`] — the business metrics (`shop_stockouts_total`, `shop_reservations_total`,
//!   the `shop_inventory_*` gauges).
//! - [`routes`] — the HTTP API and its [`routes::AppError`]; `GET /openapi.json`.
//!
//! Serving, health endpoints, resilience, faults and graceful shutdown come from
//! `apiary-chassis`; telemetry from `apiary-telemetry`.

pub mod config;
pub mod domain;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod store;
pub mod sweeper;

pub use config::Config;
pub use startup::{StartError, build};

/// Who this service is, for telemetry (and the name of its database file).
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "inventory",
    version: env!("CARGO_PKG_VERSION"),
};
