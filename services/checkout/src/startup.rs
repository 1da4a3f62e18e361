//! Building and running the service.

use std::future::Future;
use std::time::Duration;

use apiary_telemetry::resilience::BreakerConfig;
use apiary_telemetry::server::{BindError, Service, bind};
use apiary_telemetry::{Readiness, ServeLimits, standard_router};
use tokio::net::TcpListener;

use crate::clients::Clients;
use crate::compensation::Compensator;
use crate::config::Config;
use crate::routes::{self, AppState};

/// How long in-flight requests may finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the HTTP clients: {0}")]
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
        Self::build_with_breaker(config, None).await
    }

    /// As [`Application::build`] with other circuit-breaker settings (tests).
    pub async fn build_with_breaker(
        config: Config,
        breaker: Option<BreakerConfig>,
    ) -> Result<Self, StartError> {
        let clients = Clients::new(&config, breaker)?;
        let compensator = Compensator::new(clients.clone(), config.compensation_retry);
        let (listener, port) = bind(config.host, config.port).await?;
        Ok(Self {
            listener,
            port,
            state: AppState {
                clients,
                compensator,
            },
        })
    }

    /// The full router, for socket-free tests.
    pub fn router(state: AppState) -> axum::Router {
        // Ready when the services without which no checkout can succeed answer. Shipping and
        // catalog failures fail single checkouts; they are watched through their own health.
        let clients = state.clients.clone();
        let mut readiness = Readiness::new();
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
        apiary_telemetry::serve(self.listener, Self::router(self.state), shutdown, DRAIN).await
    }
}
