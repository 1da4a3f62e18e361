//! Building and running the service.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apiary_telemetry::server::{BindError, Service, bind};
use apiary_telemetry::{Readiness, ServeLimits, standard_router};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::routes;
use crate::store::QuoteStore;

/// How long in-flight requests may finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A built service: bound, with an empty quote store, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    store: Arc<QuoteStore>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let store = Arc::new(QuoteStore::new(config.quote_ttl, config.max_quotes));
        apiary_telemetry::metrics::describe_counter!(
            routes::QUOTES,
            "Shipping quotes issued, by zone (domestic, eu, world)."
        );
        let (listener, port) = bind(config.host, config.port).await?;
        Ok(Self {
            listener,
            port,
            store,
        })
    }

    /// The full router (API + operational routes + middleware), for socket-free tests.
    pub fn router(store: Arc<QuoteStore>) -> axum::Router {
        // The quote store is memory; the check exercises its lock, so a wedged store shows.
        let for_check = store.clone();
        let readiness = Readiness::new().check("quote_store", move || {
            let store = for_check.clone();
            async move {
                store.len();
                Ok::<(), apiary_telemetry::health::CheckError>(())
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
