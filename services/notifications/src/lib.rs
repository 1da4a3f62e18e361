//! The notifications service: the order confirmation "e-mail" of every order, rendered from the
//! `order.placed` events orders publishes, stored, and readable at
//! `GET /notifications?order_id=` (nothing is really mailed: the stored message is the outbox a
//! person reads).
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `APIARY_DATA_DIR`, `APIARY_BROKER_URL`).
//! - [`startup`] — [`build`]: the service declared on the chassis (store, readiness with the
//!   broker link reported, the consumer as a background task), bound (port 0 in tests).
//! - [`render`] — the message for an order: subject and plain-text body. Pure.
//! - [`consumer`] — the `order.placed` handler: parse (poison when it cannot), render, store
//!   the message and the inbox entry in one transaction.
//! - [`store`] — `<data dir>/notifications.sqlite3`: sent messages and the inbox.
//! - [`metrics`] — `shop_notifications_sent_total` and the messaging metrics.
//! - [`routes`] — the HTTP API and its [`routes::AppError`]; `GET /openapi.json`.

pub mod config;
pub mod consumer;
pub mod metrics;
pub mod render;
pub mod routes;
pub mod startup;
pub mod store;

pub use config::Config;
pub use startup::{StartError, build};

/// Who this service is, for telemetry (and the name of its database file).
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "notifications",
    version: env!("CARGO_PKG_VERSION"),
};
