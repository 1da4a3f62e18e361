//! Building and running the service.

use std::future::Future;
use std::time::Duration;

use apiary_telemetry::server::{BindError, Service, bind};
use apiary_telemetry::{Readiness, ServeLimits, standard_router};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use crate::clients::Clients;
use crate::config::{Config, EDGE_MAX_IN_FLIGHT};
use crate::html::{self, PageError};
use crate::routes::{self, AppState};

/// How long in-flight requests may finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

/// Largest request body: the biggest a shopper sends is a checkout form, well under this.
pub const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error(transparent)]
    Bind(#[from] BindError),
}

#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
    max_in_flight: usize,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let state = AppState {
            clients: Clients::new(&config)?,
        };
        let (listener, port) = bind(config.host, config.port).await?;
        Ok(Self {
            listener,
            port,
            state,
            max_in_flight: config.max_in_flight,
        })
    }

    /// The full router (JSON API, HTML shop, operational routes, middleware) with the default
    /// edge limit, for socket-free tests.
    pub fn router(state: AppState) -> axum::Router {
        Self::router_shedding_past(state, EDGE_MAX_IN_FLIGHT)
    }

    /// The full router, shedding past `max_in_flight` requests at once.
    pub fn router_shedding_past(state: AppState, max_in_flight: usize) -> axum::Router {
        // Ready means the shop can sell: catalog, cart and checkout answer. Reviews,
        // recommendations, inventory and orders are not required — the pages degrade without
        // them (and the checkout, which needs inventory, reports that itself).
        let clients = state.clients.clone();
        let readiness = Readiness::new()
            .check("catalog", {
                let c = clients.catalog.clone();
                move || {
                    let c = c.clone();
                    async move { c.live().await }
                }
            })
            .check("cart", {
                let c = clients.cart.clone();
                move || {
                    let c = c.clone();
                    async move { c.live().await }
                }
            })
            .check("checkout", {
                let c = clients.checkout.clone();
                move || {
                    let c = c.clone();
                    async move { c.live().await }
                }
            });
        let limits = ServeLimits {
            body_limit: MAX_BODY,
            max_in_flight,
            ..ServeLimits::default()
        };
        let app = routes::router(state.clone()).merge(html::router(state));
        standard_router(app, readiness, limits).layer(axum::middleware::from_fn(refuse_oversized))
    }
}

/// Answers a body declared larger than [`MAX_BODY`] with the standard error body (the body
/// limit layer inside would answer plain text). Bodies without a length are cut by that layer
/// while being read, and the extractors turn that into the same 413.
async fn refuse_oversized(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        let message = format!("request bodies are limited to {MAX_BODY} bytes");
        return if req.uri().path().starts_with("/api/") {
            apiary_telemetry::json_error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", message)
        } else {
            PageError::new(StatusCode::PAYLOAD_TOO_LARGE, message).into_response()
        };
    }
    next.run(req).await
}

impl Service for Application {
    fn port(&self) -> u16 {
        self.port
    }

    async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = Self::router_shedding_past(self.state, self.max_in_flight);
        apiary_telemetry::serve(self.listener, app, shutdown, DRAIN).await
    }
}
