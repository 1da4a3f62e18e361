//! The reviews service: shoppers' reviews and ratings of the shop's products, durable in
//! SQLite.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `APIARY_DATA_DIR`, `REVIEWS_SEED`).
//! - [`startup`] — [`Application`]: opens, migrates and (first start only) seeds the database,
//!   binds (port 0 in tests), `port()`, `run_until_stopped(shutdown)`.
//! - [`domain`] — types that parse: [`domain::ProductId`], [`domain::Limit`],
//!   [`domain::ReviewDraft`] (trimmed, bounded, no e-mail address as author).
//! - [`seed`] — the deterministic reviews an empty database starts with.
//! - [`store`] — the `reviews` table: one `BEGIN IMMEDIATE` transaction per write, listing
//!   newest first with count and mean over all of a product's reviews.
//! - [`routes`] — `GET`/`POST /products/{product_id}/reviews` and [`routes::AppError`];
//!   `GET /openapi.json`.
//! - [`business_metrics`] — `shop_reviews_submitted_total`, `shop_review_ratings_total{rating}`.
//!
//! The products it knows are the shop's seed (`apiary_seed::products()`), compiled in: no call
//! to the catalog is needed to tell a real product from a typo.
//!
//! Telemetry, health endpoints and graceful shutdown come from `apiary-telemetry`.

pub mod business_metrics;
pub mod config;
pub mod domain;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod store;

pub use config::Config;
pub use startup::Application;

/// Who this service is, for telemetry (and the database file's name).
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "reviews",
    version: env!("CARGO_PKG_VERSION"),
};
