//! The orders service: the shop's order history and revenue — the business source of truth
//! that reconciliation checks inventory and the payment ledger against.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `APIARY_DATA_DIR`).
//! - [`startup`] — [`build`]: the service declared on the chassis's
//!   [`apiary_chassis::ServiceBuilder`] (the store opened and migrated), bound (port 0 in tests);
//!   [`startup::service`] is the same service for socket-free tests.
//! - [`domain`] — types that parse: [`domain::PlaceOrder`] (a [`apiary_wire::shop::NewOrder`]
//!   whose ids, lines, currencies and total have been checked), [`domain::OrderId`],
//!   [`domain::FeedQuery`]. Invalid input cannot get past the edge.
//! - [`store`] — the durable state in SQLite (`<data dir>/orders.sqlite3`): orders numbered
//!   by a never-reused `seq`, and their lines. Recording an order is one `BEGIN IMMEDIATE`
//!   transaction committed before the answer.
//! - [`outbox`] — each new order's `order.placed` event, written in the order's transaction.
//! - [`relay`] — publishes the outbox to the broker (`APIARY_BROKER_URL`) with publisher
//!   confirms, marking rows sent only when confirmed; the backlog gauges.
//! - [`metrics`] — the business metrics (`shop_orders_placed_total`,
//!   `shop_revenue_minor_total`, `shop_order_units_total`), recorded once per new order.
//! - [`routes`] — the HTTP API and its [`routes::AppError`]; `GET /openapi.json`.
//!
//! Serving, health endpoints, resilience, faults and graceful shutdown come from
//! `apiary-chassis`; telemetry from `apiary-telemetry`.

pub mod config;
pub mod domain;
pub mod metrics;
pub mod outbox;
pub mod relay;
pub mod routes;
pub mod startup;
pub mod store;

pub use config::Config;
pub use startup::{StartError, build};

/// Who this service is, for telemetry (and the name of its database file).
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "orders",
    version: env!("CARGO_PKG_VERSION"),
};
