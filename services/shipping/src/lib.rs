//! The shipping service: what it costs to send a parcel where, by which carrier, how fast.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`,
//!   `SHIPPING_QUOTE_TTL_SECS`, `SHIPPING_MAX_QUOTES`).
//! - [`startup`] — [`Application`]: binds its listener (port 0 in tests), exposes `port()`,
//!   then `run_until_stopped(shutdown)`.
//! - [`domain`] — types that parse: [`domain::Destination`] (a served country and its
//!   [`domain::Zone`]) and [`domain::Parcel`] (validated lines). Invalid input cannot get past
//!   the edge.
//! - [`pricing`] — the tariff: zone base price plus a per-unit surcharge, carrier and ETA by
//!   zone. Pure and deterministic.
//! - [`store`] — issued quotes, in memory, bounded, remembered a while past their expiry so a
//!   late lookup can say "expired" (410) rather than "never heard of it" (404).
//! - [`routes`] — the HTTP API and its [`routes::AppError`]; `GET /openapi.json`.
//!
//! Telemetry, health endpoints and graceful shutdown come from `apiary-telemetry`.

pub mod config;
pub mod domain;
pub mod pricing;
pub mod routes;
pub mod startup;
pub mod store;

pub use config::Config;
pub use startup::Application;

/// Who this service is, for telemetry.
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "shipping",
    version: env!("CARGO_PKG_VERSION"),
};
