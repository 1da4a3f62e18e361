//! The cart service: shoppers' carts, held in memory with a sliding time-to-live.
//!
//! Carts are deliberately not durable: a restart (or the "cart store lost" drill, through
//! [`store::CartStore::clear`]) empties every cart, and the rest of the shop must cope.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `CART_TTL_SECS`, `CART_MAX_CARTS`, `CART_SWEEP_MS`).
//! - [`metrics`] — the business metrics' names and descriptions (`metrics::describe`, run
//!   once at start-up by the chassis).
//! - [`startup`] — [`build`]: the service declared on the chassis's
//!   [`apiary_chassis::ServiceBuilder`] (the in-memory store, the expiry sweeper and the cart-store-lost fault as background work), bound (port 0 in tests);
//!   [`startup::service`] is the same service for socket-free tests.
//! - [`domain`] — types that parse: [`domain::CartId`], [`domain::ProductId`],
//!   [`domain::AddQuantity`], [`domain::SetQuantity`]. Invalid input cannot get past the edge.
//! - [`store`] — the cart store: a bounded map with sliding expiry and least-recently-touched
//!   eviction, its limits (99 units a line, 50 lines a cart) and the cart metrics.
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

pub use config::Config;
pub use startup::{StartError, build};

/// Who this service is, for telemetry.
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "cart",
    version: env!("CARGO_PKG_VERSION"),
};
