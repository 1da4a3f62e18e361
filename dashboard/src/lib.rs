//! The Apiary dashboard server: it receives telemetry, keeps it in bounded memory, watches every
//! service of the stack, and serves health, RED, traces, logs, topology and business KPIs —
//! useful with no other backend at all.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (ports, limits, thresholds, access).
//! - [`startup`] — [`Application`]: binds UI/API (8080), OTLP gRPC (4317) and OTLP HTTP (4318);
//!   `run_until_stopped` serves all three plus the monitor loop.
//! - [`otlp`] — the receivers ([`otlp::grpc`] with tonic, [`otlp::http`] with axum), sharing
//!   [`otlp::Ingest`]: the ingest budget, conversion ([`otlp::convert`]) and storage.
//! - [`model`] / [`store`] — compact stored items; the bounded rings with trace and service
//!   indexes, eviction counters. [`names`]: service and span names, held while a span uses them.
//! - [`red`] — Prometheus text (parsed by `prometheus-parse`) to per-interval deltas and
//!   histogram quantiles.
//! - [`monitor`] — the scrape loop (twice a second): scrape, probe, 15 minutes of 1-second series, health
//!   judgement, topology from client/server span pairs, business KPIs; publishes a snapshot.
//! - [`api`] — the JSON API and the server-sent event stream; [`openapi`] documents it.
//! - [`control`] — faults, drills and load control (`/api/faults`, `/api/drills`, `/api/load`):
//!   token, CSRF checks, caps, TTLs, the flag file, the audit log, drill runs and reports.
//! - [`seen`] — when the browser showed a snapshot with a health change (`POST /api/seen`),
//!   for a drill's time-to-detect breakdown.
//! - [`security`] — token (UI/API) and key (OTLP) when bound off loopback.
//! - [`ui`] — the Leptos UI (`dashboard-ui`) mounted on the same listener, its pages reading the
//!   API in process ([`ui::LocalApi`]); bundle files from the site root.

pub mod api;
pub mod config;
pub mod control;
pub mod model;
pub mod monitor;
pub mod names;
pub mod openapi;
pub mod otlp;
pub mod red;
pub mod security;
pub mod seen;
pub mod startup;
pub mod store;
#[cfg(feature = "ui")]
pub mod ui;

pub use config::Config;
pub use startup::Application;
