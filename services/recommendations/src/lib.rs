//! The recommendations service: "shoppers who bought this also bought", learned from the
//! `order.placed` events, with attribute similarity as the fallback. Optional on the product page
//! and allowed to be slow — so it never depends on orders or the broker to answer.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `APIARY_DATA_DIR`, `APIARY_BROKER_URL`).
//! - [`metrics`] — the business metrics' names and descriptions (`metrics::describe`, run
//!   once at start-up by the chassis).
//! - [`startup`] — [`build`]: the service declared on the chassis's
//!   [`apiary_chassis::ServiceBuilder`] (the seeded model, the learner as background work),
//!   bound (port 0 in tests);
//!   [`startup::service`] is the same service for socket-free tests.
//! - [`domain`] — types that parse: [`domain::ProductId`], [`domain::Limit`].
//! - [`products`] — the products this service knows (the shared seed), indexed, and their
//!   attribute similarity.
//! - [`model`] — co-purchase counts and [`model::Model::recommend`], which prefers them and pads
//!   with similar products.
//! - [`baskets`] — what was learned, durably (`<data dir>/recommendations.sqlite3`): each
//!   order's products, with the consumer inbox.
//! - [`learner`] — the `order.placed` consumer that records a basket and teaches the model;
//!   and the rebuild at start-up.
//! - [`routes`] — the HTTP API and its [`routes::AppError`]; `GET /openapi.json`.
//!
//! Serving, health endpoints, resilience, faults and graceful shutdown come from
//! `apiary-chassis`; telemetry from `apiary-telemetry`.

pub mod baskets;
pub mod config;
pub mod domain;
pub mod learner;
pub mod metrics;
pub mod model;
pub mod products;
pub mod routes;
pub mod startup;

pub use config::Config;
pub use startup::{StartError, build};

/// Who this service is, for telemetry.
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "recommendations",
    version: env!("CARGO_PKG_VERSION"),
};
