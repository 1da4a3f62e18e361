//! Building the service: its clients, its saga log (and what a previous run left in it), its
//! readiness, its routes, its metrics.

use std::time::Duration;

use apiary_chassis::resilience::BreakerConfig;
use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServeLimits, ServiceBuilder};
use apiary_store::StoreError;

use crate::clients::Clients;
use crate::compensation::Compensator;
use crate::config::Config;
use crate::routes::{self, AppState};
use crate::runner::SagaRunner;
use crate::saga::Saga;
use crate::store::{RETENTION, SagaStore, SagaStoreError};
use crate::{SERVICE, metrics};

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

/// Opens the saga log, concludes what a killed predecessor left, binds: ready to run.
pub async fn build(config: Config) -> Result<Bound, StartError> {
    build_with_breaker(config, None).await
}

/// As [`build`] with other circuit-breaker settings (tests).
pub async fn build_with_breaker(
    config: Config,
    breaker: Option<BreakerConfig>,
) -> Result<Bound, StartError> {
    let clients = Clients::new(&config, breaker)?;
    let store = SagaStore::open(&config.data_dir)?;
    let compensator = Compensator::new(clients.clone(), store.clone(), config.compensation_retry);
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
    // Before serving: sagas a killed predecessor left running are concluded, owed clean-up
    // resumes in the background.
    let (concluded, resumed) = runner.recover().await?;
    if concluded + resumed > 0 {
        tracing::warn!(
            concluded,
            resumed,
            "recovered sagas and clean-up from the saga log"
        );
    }
    let pruning = runner.prune_forever(RETENTION);
    Ok(service(AppState { runner, store }, &clients)
        .background("saga_pruning", pruning)
        .bind(config.host, config.port)
        .await?)
}

/// The service on `state`; [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(state: AppState, clients: &Clients) -> ServiceBuilder {
    // Ready when the saga log answers and the services without which no checkout can succeed
    // answer. Shipping and catalog failures fail single checkouts; they are watched through
    // their own health.
    ServiceBuilder::new(SERVICE)
        .metrics(metrics::describe)
        .database(state.store.db())
        .needs(clients.cart.http())
        .needs(clients.inventory.http())
        .needs(clients.payment.http())
        .needs(clients.orders.http())
        // A checkout spans six calls and a slow provider; give it more than the default.
        .limits(ServeLimits {
            request_timeout: Duration::from_secs(15),
            ..ServeLimits::default()
        })
        .drain(Duration::from_secs(10))
        .api(routes::api(state))
}
