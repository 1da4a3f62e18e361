//! The shipping service: what it costs to send a parcel where, by which carrier, how fast — and
//! the fulfilment of every placed order, learnt from the `order.placed` events.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `SHIPPING_QUOTE_TTL_SECS`, `SHIPPING_MAX_QUOTES`).
//! - [`metrics`] — the business metrics' names and descriptions (`metrics::describe`, run
//!   once at start-up by the chassis).
//! - [`startup`] — [`build`]: the service declared on the chassis's
//!   [`apiary_chassis::ServiceBuilder`] (the in-memory quote store), bound (port 0 in tests);
//!   [`startup::service`] is the same service for socket-free tests.
//! - [`domain`] — types that parse: [`domain::Destination`] (a served country and its
//!   [`domain::Zone`]) and [`domain::Parcel`] (validated lines). Invalid input cannot get past
//!   the edge.
//! - [`pricing`] — the tariff: zone base price plus a per-unit surcharge, carrier and ETA by
//!   zone. Pure and deterministic.
//! - [`store`] — issued quotes, in memory, bounded, remembered a while past their expiry so a
//!   late lookup can say "expired" (410) rather than "never heard of it" (404).
//! - [`shipments`] — fulfilment in SQLite (`<data dir>/shipping.sqlite3`): one shipment per
//!   order, with the consumer inbox.
//! - [`fulfilment`] — the `order.placed` consumer (AMQP, `APIARY_BROKER_URL`) that creates
//!   shipments, and the simulated warehouse that ships them after a while.
//! - [`routes`] — the HTTP API and its [`routes::AppError`]; `GET /openapi.json`.
//!
//! Serving, health endpoints, resilience, faults and graceful shutdown come from
//! `apiary-chassis`; telemetry from `apiary-telemetry`.

pub mod config;
pub mod domain;
pub mod fulfilment;
pub mod metrics;
pub mod pricing;
pub mod routes;
pub mod shipments;
pub mod startup;
pub mod store;

pub use config::Config;
pub use startup::{StartError, build};

/// Who this service is, for telemetry.
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "shipping",
    version: env!("CARGO_PKG_VERSION"),
};
