//! The inventory service: how many units of each product the shop has, and the reservations
//! that hold units while a checkout runs.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `APIARY_DATA_DIR`, `INVENTORY_HOLD_SECS`, `INVENTORY_SWEEP_MS`).
//! - [`startup`] — [`Application`]: opens and seeds the store, binds its listener (port 0 in
//!   tests), exposes `port()`, then `run_until_stopped(shutdown)` serves and runs the sweeper.
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
//! Telemetry, health endpoints and graceful shutdown come from `apiary-telemetry`.

pub mod config;
pub mod domain;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod store;
pub mod sweeper;

pub use config::Config;
pub use startup::Application;

/// Who this service is, for telemetry (and the name of its database file).
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "inventory",
    version: env!("CARGO_PKG_VERSION"),
};
