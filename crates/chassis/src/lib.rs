//! `apiary-chassis`: what every Apiary service is built from besides telemetry (which is
//! `apiary-telemetry`'s). A service's `startup` is a [`ServiceBuilder`] and its `main` is
//! [`server::run_service`].
//!
//! # Layout
//! - [`builder`] — [`ServiceBuilder`]: routes, readiness checks, limits, background tasks and
//!   business metrics declared in a few lines, then bound into a [`Bound`] service.
//! - [`server`] — the standard router, JSON errors and the OpenAPI route, binding, graceful
//!   shutdown with a drain deadline, the binary's command line and supervision.
//! - [`health`] — `/health/live`, `/health/ready` with named checks, and `/metrics`.
//! - [`extract`] — `Json`/`Query`/`Path` extractors rejecting with the JSON error body.
//! - [`http_client`] — the traced outbound client (client span, propagation, histogram, breaker,
//!   retry budget, deadline).
//! - [`balance`] — where a downstream's instances are ([`balance::Discovery`]: endpoints file,
//!   DNS, one URL) and tower's power-of-two-choices balancer over the ready ones.
//! - [`downstream`] — typed JSON calls to peers and [`DownstreamError`] (relay 4xx, 502/503/504).
//! - [`resilience`] — deadlines across calls, load shedding, the circuit breaker.
//! - [`csrf`] — refusing cross-site state changes (`Sec-Fetch-Site`, `Origin`).
//! - [`config`] — where a service listens and where its downstreams live; [`env`] (re-exported
//!   `apiary-env`) — typed reads that fail with the variable's name and expected form.
//! - [`faults`] — the fault layer (flags evaluated in process through OpenFeature + flagd) and
//!   the fault effects on outbound calls, readiness and memory.

pub mod balance;
pub mod builder;
pub mod config;
pub mod csrf;
pub mod downstream;
pub mod extract;
pub mod faults;
pub mod health;
pub mod http_client;
pub mod resilience;
pub mod server;

pub use apiary_env as env;
pub use apiary_telemetry::ServiceInfo;
pub use builder::{Bound, ServiceBuilder};
pub use config::Downstream;
pub use downstream::{DownstreamError, Idempotency, encode_segment};
pub use health::Readiness;
pub use http_client::{CallError, HttpClient};
pub use server::{ServeLimits, json_error, openapi_route, serve, shutdown_signal, standard_router};
