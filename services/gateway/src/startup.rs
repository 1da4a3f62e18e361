//! Building and running the service.

use std::future::Future;
use std::time::Duration;

use apiary_telemetry::server::{BindError, Service, bind};
use apiary_telemetry::{Readiness, ServeLimits, standard_router};
use tokio::net::TcpListener;

use crate::clients::CatalogClient;
use crate::config::Config;
use crate::routes::{self, AppState};

/// How long in-flight requests may finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

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
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let state = AppState {
            catalog: CatalogClient::new(&config.catalog_url, config.catalog_timeout)?,
        };
        let (listener, port) = bind(config.host, config.port).await?;
        Ok(Self {
            listener,
            port,
            state,
        })
    }

    /// The full router, for socket-free tests.
    pub fn router(state: AppState) -> axum::Router {
        let catalog = state.catalog.clone();
        // Ready means the required downstream answers: without the catalog there is no shop.
        let readiness = Readiness::new().check("catalog", move || {
            let catalog = catalog.clone();
            async move { catalog.live().await }
        });
        standard_router(routes::router(state), readiness, ServeLimits::default())
    }
}

impl Service for Application {
    fn port(&self) -> u16 {
        self.port
    }

    async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        apiary_telemetry::serve(self.listener, Self::router(self.state), shutdown, DRAIN).await
    }
}
