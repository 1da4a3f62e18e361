//! Building the service: its clients, its readiness, its API and HTML routes, its limits,
//! its metrics.

use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServeLimits, ServiceBuilder};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::clients::Clients;
use crate::config::Config;
use crate::html::{self, PageError};
use crate::routes::{self, AppState};
use crate::{SERVICE, metrics};

/// Largest request body: the biggest a shopper sends is a checkout form, well under this.
pub const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// The clients and a bound listener: ready to run.
pub async fn build(config: Config) -> Result<Bound, StartError> {
    let state = AppState {
        clients: Clients::new(&config)?,
    };
    Ok(service(state, config.max_in_flight)
        .bind(config.host, config.port)
        .await?)
}

/// The service on `state`, shedding past `max_in_flight` requests at once (the edge's limit
/// is [`crate::config::EDGE_MAX_IN_FLIGHT`]); [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(state: AppState, max_in_flight: usize) -> ServiceBuilder {
    // Ready means the shop can sell: catalog, cart and checkout answer. Reviews,
    // recommendations, inventory and orders are not required — the pages degrade without
    // them (and the checkout, which needs inventory, reports that itself).
    let clients = &state.clients;
    ServiceBuilder::new(SERVICE)
        .metrics(metrics::describe)
        .needs(clients.catalog.http())
        .needs(clients.cart.http())
        .needs(clients.checkout.http())
        .limits(ServeLimits {
            body_limit: MAX_BODY,
            max_in_flight,
            ..ServeLimits::default()
        })
        .api(routes::api(state.clone()))
        .routes(html::router(state))
        .wrap(|router| router.layer(axum::middleware::from_fn(refuse_oversized)))
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
            apiary_chassis::json_error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", message)
        } else {
            PageError::new(StatusCode::PAYLOAD_TOO_LARGE, message).into_response()
        };
    }
    next.run(req).await
}
