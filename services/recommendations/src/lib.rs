//! The recommendations service: "shoppers who bought this also bought", learned from the orders
//! feed, with attribute similarity as the fallback. Optional on the product page and allowed to
//! be slow — so it never depends on the orders service to answer.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `ORDERS_URL`, `ORDERS_TIMEOUT_MS`, `RECOMMENDATIONS_POLL_MS`).
//! - [`startup`] — [`Application`]: binds its listener (port 0 in tests), exposes `port()`,
//!   then `run_until_stopped(shutdown)`, which also runs the learner.
//! - [`domain`] — types that parse: [`domain::ProductId`], [`domain::Limit`].
//! - [`products`] — the products this service knows (the shared seed), indexed, and their
//!   attribute similarity.
//! - [`model`] — co-purchase counts and [`model::Model::recommend`], which prefers them and pads
//!   with similar products.
//! - [`clients`] — the typed orders client (the feed `GET /orders?after_seq=&limit=`).
//! - [`learner`] — the background task that polls the feed into the model; a failing orders
//!   service only delays learning.
//! - [`routes`] — the HTTP API and its [`routes::AppError`]; `GET /openapi.json`.
//!
//! Telemetry, health endpoints and graceful shutdown come from `apiary-telemetry`.

pub mod clients;
pub mod config;
pub mod domain;
pub mod learner;
pub mod model;
pub mod products;
pub mod routes;
pub mod startup;

pub use config::Config;
pub use startup::Application;

/// Who this service is, for telemetry.
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "recommendations",
    version: env!("CARGO_PKG_VERSION"),
};
