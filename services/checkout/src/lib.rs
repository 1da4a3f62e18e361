//! The checkout service: turns a cart into an order with a saga across six services, and
//! undoes what it did when a step fails.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (every downstream's URL and budget).
//! - [`domain`] — ids and addresses that parse ([`domain::CheckoutId`], [`domain::Country`]).
//! - [`clients`] — one typed client per downstream: cart, catalog, inventory, shipping,
//!   payment, orders.
//! - [`saga`] — the checkout saga: read cart -> price via catalog -> reserve stock -> shipping
//!   quote -> charge payment -> record the order -> commit the reservation -> empty the cart.
//!   Each step is a span; a failure compensates (release stock, void the charge).
//! - [`compensation`] — clean-up that could not finish during the request (a peer was down or
//!   the outcome of a call is unknown) retried in the background until it does.
//! - [`routes`] — `POST /checkouts`, `GET /compensations`, `GET /openapi.json`.
//! - [`startup`] — [`Application`]: build, `port()`, `run_until_stopped(shutdown)`.
//!
//! Checkout owns no durable data: the saga's facts live with their owners (reservations in
//! inventory, charges in payment, orders in orders), each keyed by the checkout id, so every
//! step is idempotent and a retried checkout converges instead of doubling anything.

pub mod clients;
pub mod compensation;
pub mod config;
pub mod domain;
pub mod routes;
pub mod saga;
pub mod startup;

pub use config::Config;
pub use startup::Application;

/// Who this service is, for telemetry.
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "checkout",
    version: env!("CARGO_PKG_VERSION"),
};
