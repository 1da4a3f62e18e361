//! Building and running the service.

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use apiary_telemetry::server::{BindError, Service, bind};
use apiary_telemetry::{Readiness, ServeLimits, standard_router};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::clients::OrdersClient;
use crate::config::Config;
use crate::learner::{Learner, ORDERS_LEARNED};
use crate::model::Model;
use crate::products::ProductIndex;
use crate::routes::{self, AppState, SERVED};

/// How long in-flight requests may finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the orders client: {0}")]
    Client(#[from] reqwest::Error),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A built service: bound, seeded, not yet serving or learning.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    model: AppState,
    learner: Learner,
    poll_interval: Duration,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let index = ProductIndex::from_seed();
        tracing::info!(products = index.len(), "product seed loaded");
        let model = Arc::new(RwLock::new(Model::new(index)));
        let client = OrdersClient::new(&config.orders_url, config.orders_timeout)?;
        let learner = Learner::new(client, model.clone());
        describe_metrics();
        let (listener, port) = bind(config.host, config.port).await?;
        Ok(Self {
            listener,
            port,
            model,
            learner,
            poll_interval: config.poll_interval,
        })
    }

    /// The full router (API + operational routes + middleware), for socket-free tests.
    pub fn router(model: AppState) -> axum::Router {
        // Ready means the seed is loaded. Orders is deliberately not a check: without it the
        // service still answers (with similar products), which is the whole point.
        let for_check = model.clone();
        let readiness = Readiness::new().check("product_seed", move || {
            let loaded = !for_check
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .index()
                .is_empty();
            async move {
                if loaded {
                    Ok(())
                } else {
                    Err("no products loaded".to_owned())
                }
            }
        });
        standard_router(routes::router(model), readiness, ServeLimits::default())
    }
}

fn describe_metrics() {
    use apiary_telemetry::metrics::{describe_counter, describe_gauge};
    describe_counter!(
        SERVED,
        "Recommendation answers served, by model (co-purchase, similar)."
    );
    describe_gauge!(
        ORDERS_LEARNED,
        "Orders the co-purchase model has learned from since start."
    );
}

/// Stops the learner when the service stops, however it stops.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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
        let _learner = AbortOnDrop(tokio::spawn(self.learner.run(self.poll_interval)));
        apiary_telemetry::serve(self.listener, Self::router(self.model), shutdown, DRAIN).await
    }
}
