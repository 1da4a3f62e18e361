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
//!   Each step is a span whose intent and outcome go into the saga log; a failure names the
//!   clean-up it owes (release stock, void the charge).
//! - [`runner`] — one saga per checkout id, detached from the request (which waits up to its
//!   deadline, then answers 202); recovery of interrupted sagas at start-up.
//! - [`compensation`] — owed clean-up, tried at once and retried in the background until its
//!   owner confirms it; resumed after a restart.
//! - [`store`] — the saga log (`checkout.sqlite3`): sagas, their step log, owed clean-up.
//! - [`answer`] — each outcome's HTTP answer as data (stored for replays).
//! - [`routes`] — `POST /checkouts`, `GET /checkouts/{id}`, `GET /compensations`,
//!   `GET /openapi.json`.
//! - [`metrics`] — the business metrics' names and descriptions (`metrics::describe`, run
//!   once at start-up by the chassis).
//! - [`startup`] — [`build`]: the service declared on the chassis's
//!   [`apiary_chassis::ServiceBuilder`] (clients, the saga log opened and recovered before serving, peer readiness), bound (port 0 in tests);
//!   [`startup::service`] is the same service for socket-free tests.
//!
//! The saga's business facts live with their owners (reservations in inventory, charges in
//! payment, orders in orders), each keyed by the checkout id, so every step is idempotent and
//! a repeated step converges instead of doubling anything. Checkout's own durable data is the
//! saga log: what each checkout has done and still owes, so neither a dropped request nor a
//! killed process leaves a charge without an order or stock held.

pub mod answer;
pub mod clients;
pub mod compensation;
pub mod config;
pub mod domain;
pub mod metrics;
pub mod routes;
pub mod runner;
pub mod saga;
pub mod startup;
pub mod store;

pub use config::Config;
pub use startup::{StartError, build};

/// Who this service is, for telemetry.
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "checkout",
    version: env!("CARGO_PKG_VERSION"),
};
