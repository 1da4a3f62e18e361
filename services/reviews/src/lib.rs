//! The reviews service: shoppers' reviews and ratings of the shop's products, durable in
//! SQLite.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `APIARY_DATA_DIR`, `REVIEWS_SEED`).
//! - [`startup`] — [`build`]: the service declared on the chassis's
//!   [`apiary_chassis::ServiceBuilder`] (the store opened, migrated and (first start only) seeded), bound (port 0 in tests);
//!   [`startup::service`] is the same service for socket-free tests.
//! - [`domain`] — types that parse: [`domain::ProductId`], [`domain::Limit`],
//!   [`domain::ReviewDraft`] (trimmed, bounded, no e-mail address as author).
//! - [`seed`] — the deterministic reviews an empty database starts with.
//! - [`store`] — the `reviews` table: one `BEGIN IMMEDIATE` transaction per write, listing
//!   newest first with count and mean over all of a product's reviews.
//! - [`routes`] — `GET`/`POST /products/{product_id}/reviews` and [`routes::AppError`];
//!   `GET /openapi.json`.
//! - [`metrics`] — `shop_reviews_submitted_total`, `shop_review_ratings_total{rating}`.
//!
//! The products it knows are the shop's seed (`apiary_seed::products()`), compiled in: no call
//! to the catalog is needed to tell a real product from a typo.
//!
//! Serving, health endpoints, resilience, faults and graceful shutdown come from
//! `apiary-chassis`; telemetry from `apiary-telemetry`.

pub mod config;
pub mod domain;
pub mod metrics;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod store;

pub use config::Config;
pub use startup::{StartError, build};

/// Who this service is, for telemetry (and the database file's name).
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "reviews",
    version: env!("CARGO_PKG_VERSION"),
};
