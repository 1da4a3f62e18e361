//! The gateway: the shop's edge, and the only service shoppers (and the load generator) talk
//! to. It owns no data: it composes what the other services answer into a JSON API and a small
//! server-rendered HTML shop, and degrades gracefully when an optional neighbour fails.
//!
//! # Layout
//! - [`config`] — typed configuration from the environment (`APIARY_HOST`, `APIARY_PORT`, and
//!   `<SERVICE>_URL` / `<SERVICE>_TIMEOUT_MS` per downstream).
//! - [`metrics`] — the business metrics' names and descriptions (`metrics::describe`, run
//!   once at start-up by the chassis).
//! - [`startup`] — [`build`]: the service declared on the chassis's
//!   [`apiary_chassis::ServiceBuilder`] (clients, peer readiness, the edge's limits, API and HTML routes), bound (port 0 in tests);
//!   [`startup::service`] is the same service for socket-free tests.
//! - [`clients`] — one typed client per downstream (catalog, cart, checkout, inventory,
//!   reviews, recommendations, orders), on the chassis's traced HTTP client (deadline,
//!   circuit breaker, retry budget) and tested against wiremock.
//! - [`domain`] — ids and quantities that parse at the edge, so nothing malformed goes out.
//! - [`storefront`] — the use cases both front-ends share: the concurrently composed product
//!   page, cart views enriched from the catalog, checkout; and the view types they answer.
//! - [`routes`] — the JSON API under `/api/`, its OpenAPI document and [`routes::AppError`].
//! - [`html`] — the HTML shop (maud, forms and links only): pages, the cart cookie, the
//!   cross-site POST guard.

pub mod clients;
pub mod config;
pub mod domain;
pub mod html;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod storefront;

pub use config::Config;
pub use startup::{StartError, build};

/// Who this service is, for telemetry.
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "gateway",
    version: env!("CARGO_PKG_VERSION"),
};
