//! Building and running the service.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apiary_telemetry::server::{BindError, Service, bind};
use apiary_telemetry::{Readiness, ServeLimits, standard_router};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::routes;
use crate::store::{ProductStore, SeedError};

/// How long in-flight requests may finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A built service: bound, seeded, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    store: Arc<ProductStore>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let store = match &config.seed {
            Some(path) => ProductStore::from_file(path)?,
            None => ProductStore::built_in()?,
        };
        tracing::info!(products = store.len(), "product store loaded");
        let (listener, port) = bind(config.host, config.port).await?;
        Ok(Self {
            listener,
            port,
            store: Arc::new(store),
        })
    }

    /// The full router (API + operational routes + middleware), for socket-free tests.
    pub fn router(store: Arc<ProductStore>) -> axum::Router {
        let for_check = store.clone();
        let readiness = Readiness::new().check("product_store", move || {
            let loaded = !for_check.is_empty();
            async move {
                if loaded {
                    Ok(())
                } else {
                    Err("no products loaded".to_owned())
                }
            }
        });
        standard_router(routes::router(store), readiness, ServeLimits::default())
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
        apiary_telemetry::serve(self.listener, Self::router(self.store), shutdown, DRAIN).await
    }
}
