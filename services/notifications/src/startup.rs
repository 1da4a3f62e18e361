//! Building the service: its store, its readiness (the broker link reported, not required), its
//! routes, its metrics, and the consumer.

use apiary_bus::Broker;
use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServiceBuilder};
use apiary_store::StoreError;

use crate::config::Config;
use crate::routes;
use crate::store::NotificationStore;
use crate::{SERVICE, consumer, metrics};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// Opens the store, starts consuming when a broker is configured, binds: ready to run.
pub async fn build(config: Config) -> Result<Bound, StartError> {
    let store = NotificationStore::open(&config.data_dir)?;
    let mut service = service(store.clone()).background(
        "inbox-prune",
        apiary_store::inbox::keep_pruned(store.db().clone()),
    );
    if let Some(broker) = Broker::from_config(&config.broker, SERVICE.name) {
        service = service
            .reports("broker", broker.readiness())
            .background("consumer", consumer::run(store, broker));
    }
    Ok(service.bind(config.host, config.port).await?)
}

/// The service on `store`; [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(store: NotificationStore) -> ServiceBuilder {
    ServiceBuilder::new(SERVICE)
        .metrics(metrics::describe)
        .database(store.db())
        .api(routes::api(store))
}
