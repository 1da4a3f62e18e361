//! Building and running the service.

use std::future::Future;
use std::time::Duration;

use apiary_telemetry::resilience::BreakerConfig;
use apiary_telemetry::server::{BindError, Service, bind};
use apiary_telemetry::{Readiness, ServeLimits, standard_router};
use tokio::net::TcpListener;

use apiary_store::StoreError;

use crate::clients::Clients;
use crate::compensation::Compensator;
use crate::config::Config;
use crate::routes::{self, AppState};
use crate::runner::SagaRunner;
use crate::saga::Saga;
use crate::store::{RETENTION, SagaStore, SagaStoreError};

/// How long in-flight requests may finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the HTTP clients: {0}")]
    Client(#[from] reqwest::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot recover the sagas a previous run left: {0}")]
    Recover(#[from] SagaStoreError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    /// The downstreams readiness asks.
    clients: Clients,
    state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        Self::build_with_breaker(config, None).await
    }

    /// As [`Application::build`] with other circuit-breaker settings (tests).
    pub async fn build_with_breaker(
        config: Config,
        breaker: Option<BreakerConfig>,
    ) -> Result<Self, StartError> {
        let clients = Clients::new(&config, breaker)?;
        let store = SagaStore::open(&config.data_dir)?;
        tracing::info!(path = %store.path().display(), "saga log open");
        let compensator =
            Compensator::new(clients.clone(), store.clone(), config.compensation_retry);
        let saga = Saga {
            clients: clients.clone(),
            store: store.clone(),
            crash: config.crash_at,
        };
        if let Some(point) = config.crash_at {
            tracing::warn!(
                ?point,
                "CHECKOUT_CRASH_AT is set: this process aborts mid-saga (a test hook)"
            );
        }
        let runner = SagaRunner::new(saga, compensator);
        // Before serving: sagas a killed predecessor left running are concluded, owed
        // clean-up resumes in the background.
        let (concluded, resumed) = runner.recover().await?;
        if concluded + resumed > 0 {
            tracing::warn!(
                concluded,
                resumed,
                "recovered sagas and clean-up from the saga log"
            );
        }
        runner.spawn_pruning(RETENTION);
        let (listener, port) = bind(config.host, config.port).await?;
        Ok(Self {
            listener,
            port,
            clients,
            state: AppState { runner, store },
        })
    }

    /// The full router, for socket-free tests.
    pub fn router(state: AppState, clients: &Clients) -> axum::Router {
        // Ready when the saga log answers and the services without which no checkout can
        // succeed answer. Shipping and catalog failures fail single checkouts; they are watched
        // through their own health.
        let store = state.store.clone();
        let mut readiness = Readiness::new().check("database", move || {
            let store = store.clone();
            async move { store.ping().await }
        });
        for (name, peer) in [
            ("cart", clients.cart.http().clone()),
            ("inventory", clients.inventory.http().clone()),
            ("payment", clients.payment.http().clone()),
            ("orders", clients.orders.http().clone()),
        ] {
            readiness = readiness.check(name, move || {
                let peer = peer.clone();
                async move { peer.live().await }
            });
        }
        // A checkout spans six calls and a slow provider; give it more than the default.
        let limits = ServeLimits {
            request_timeout: Duration::from_secs(15),
            ..ServeLimits::default()
        };
        standard_router(routes::router(state), readiness, limits)
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
        let router = Self::router(self.state, &self.clients);
        apiary_telemetry::serve(self.listener, router, shutdown, DRAIN).await
    }
}
