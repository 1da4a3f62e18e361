//! Building and running the service.

use std::future::Future;
use std::time::Duration;

use apiary_store::StoreError;
use apiary_telemetry::server::{BindError, Service, bind};
use apiary_telemetry::{Readiness, ServeLimits, standard_router};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::metrics;
use crate::routes::{self, AppState};
use crate::store::OrderStore;

/// How long in-flight requests may finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A built service: store open and migrated, listener bound, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        metrics::describe();
        let store = OrderStore::open(&config.data_dir)?;
        tracing::info!(path = %store.path().display(), "order store open");
        let (listener, port) = bind(config.host, config.port).await?;
        Ok(Self {
            listener,
            port,
            state: AppState { store },
        })
    }

    /// The full router (API + operational routes + middleware), for socket-free tests.
    pub fn router(state: AppState) -> axum::Router {
        let store = state.store.clone();
        // Ready means the database answers: without it no order can be recorded.
        let readiness = Readiness::new().check("database", move || {
            let store = store.clone();
            async move { store.ping().await }
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
