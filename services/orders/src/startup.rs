//! Building the service: its store, its readiness, its routes, its metrics.

use apiary_bus::Broker;
use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServiceBuilder};
use apiary_store::StoreError;

use crate::config::Config;
use crate::routes::{self, AppState};
use crate::store::OrderStore;
use crate::{SERVICE, metrics, relay};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// Opens (and migrates) the store and binds the listener: ready to run. With a broker
/// configured, the outbox relay publishes the order events; without one they wait in the outbox.
pub async fn build(config: Config) -> Result<Bound, StartError> {
    let store = OrderStore::open(&config.data_dir)?;
    let state = AppState::new(store.clone());
    let mut service =
        service(state.clone()).background("outbox-backlog", relay::watch_backlog(store.clone()));
    if let Some(broker) = Broker::from_config(&config.broker, SERVICE.name) {
        service = service
            .reports("broker", broker.readiness())
            .background("outbox-relay", relay::run(store, broker, state.relay));
    }
    Ok(service.bind(config.host, config.port).await?)
}

/// The service on `state`; [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(state: AppState) -> ServiceBuilder {
    // Ready means the database answers: without it no order can be recorded. The broker is
    // not needed to record one (the event waits in the outbox), so it is only reported.
    ServiceBuilder::new(SERVICE)
        .metrics(metrics::describe)
        .database(state.store.db())
        .api(routes::api(state))
}
