//! The payment service: a simulated payment provider with charges, voids, idempotency keys and
//! a durable ledger that is reconciled against orders.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `APIARY_DATA_DIR`, `PAYMENT_LATENCY_MS`).
//! - [`startup`] — [`build`]: the service declared on the chassis's
//!   [`apiary_chassis::ServiceBuilder`] (the ledger opened and migrated, key expiry as background work), bound (port 0 in tests);
//!   [`startup::service`] is the same service for socket-free tests.
//! - [`domain`] — types that parse ([`domain::ValidCard`], [`domain::IdempotencyKey`],
//!   [`domain::ChargeAmount`]) and the provider's decision rules ([`domain::decide`]): the
//!   documented test cards, expiry, the amount limit.
//! - [`store`] — the ledger in SQLite: one row per idempotency key moving forward through
//!   captured/declined -> voided/tombstoned, each change one `BEGIN IMMEDIATE` transaction
//!   committed before the answer is sent.
//! - [`routes`] — `POST /charges`, `GET /charges/{id}`, `POST /voids`, `GET /ledger`, and
//!   [`routes::AppError`]; `GET /openapi.json`.
//! - [`metrics`] — the `shop_payment*` counters.
//!
//! Card numbers and CVCs live only inside one request: parsed into a type whose `Debug` is
//! redacted, reduced to brand and last four, and dropped. They are never stored, logged,
//! traced, put in a metric or echoed in an error message.
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

/// Who this service is, for telemetry (and the database file's name).
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "payment",
    version: env!("CARGO_PKG_VERSION"),
};
