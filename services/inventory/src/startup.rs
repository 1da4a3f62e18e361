//! Building and running the service.

use std::future::Future;
use std::time::Duration;

use apiary_store::StoreError;
use apiary_telemetry::server::{BindError, Service, bind};
use apiary_telemetry::{Readiness, ServeLimits, standard_router};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::domain::ProductId;
use crate::routes::{self, AppState};
use crate::store::{InventoryError, InventoryStore};
use crate::{metrics, sweeper};

/// How long in-flight requests may finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot seed stock: {0}")]
    Seed(#[from] InventoryError),
    #[error("the product seed holds an invalid id: {0}")]
    SeedId(String),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A built service: store open, migrated and seeded, listener bound, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
    sweep_every: Duration,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        metrics::describe();
        let store = InventoryStore::open(&config.data_dir)?;
        let added = store.seed(seed_stock()?).await?;
        tracing::info!(path = %store.path().display(), added, "stock seeded");
        let (listener, port) = bind(config.host, config.port).await?;
        Ok(Self {
            listener,
            port,
            state: AppState {
                store,
                hold: config.hold,
            },
            sweep_every: config.sweep_every,
        })
    }

    /// The full router (API + operational routes + middleware), for socket-free tests.
    pub fn router(state: AppState) -> axum::Router {
        let store = state.store.clone();
        // Ready means the database answers: without it nothing here can be served.
        let readiness = Readiness::new().check("database", move || {
            let store = store.clone();
            async move { store.ping().await }
        });
        standard_router(routes::router(state), readiness, ServeLimits::default())
    }
}

/// Every seed product with its initial stock.
fn seed_stock() -> Result<Vec<(ProductId, u32)>, StartError> {
    apiary_seed::products()
        .iter()
        .map(|p| {
            ProductId::parse(&p.id)
                .map(|id| (id, p.stock))
                .map_err(|e| StartError::SeedId(e.to_string()))
        })
        .collect()
}

impl Service for Application {
    fn port(&self) -> u16 {
        self.port
    }

    async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let sweeper = tokio::spawn(sweeper::run(self.state.store.clone(), self.sweep_every));
        let served =
            apiary_telemetry::serve(self.listener, Self::router(self.state), shutdown, DRAIN).await;
        sweeper.abort();
        served
    }
}
