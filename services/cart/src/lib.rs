//! The cart service: shoppers' carts, held in memory with a sliding time-to-live.
//!
//! Carts are deliberately not durable: a restart (or the "cart store lost" drill, through
//! [`store::CartStore::clear`]) empties every cart, and the rest of the shop must cope.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `CART_TTL_SECS`, `CART_MAX_CARTS`, `CART_SWEEP_MS`).
//! - [`startup`] — [`Application`]: binds its listener (port 0 in tests), exposes `port()`,
//!   then `run_until_stopped(shutdown)`, which also runs the expiry sweeper.
//! - [`domain`] — types that parse: [`domain::CartId`], [`domain::ProductId`],
//!   [`domain::AddQuantity`], [`domain::SetQuantity`]. Invalid input cannot get past the edge.
//! - [`store`] — the cart store: a bounded map with sliding expiry and least-recently-touched
//!   eviction, its limits (99 units a line, 50 lines a cart) and the cart metrics.
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
    name: "cart",
    version: env!("CARGO_PKG_VERSION"),
};
