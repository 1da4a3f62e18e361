//! Building the service: its quote store, its shipments, its readiness (the broker link
//! reported, not required), its routes, its metrics, the consumer and the warehouse.

use std::sync::Arc;

use apiary_bus::Broker;
use apiary_chassis::health::CheckError;
use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServiceBuilder};
use apiary_store::StoreError;

use crate::config::Config;
use crate::routes::{self, AppState};
use crate::shipments::ShipmentStore;
use crate::store::QuoteStore;
use crate::{SERVICE, fulfilment, metrics};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// An empty quote store, the shipments, the consumer (with a broker) and the warehouse, and a
/// bound listener: ready to run.
pub async fn build(config: Config) -> Result<Bound, StartError> {
    let state = AppState {
        quotes: Arc::new(QuoteStore::new(config.quote_ttl, config.max_quotes)),
        shipments: ShipmentStore::open(&config.data_dir)?,
    };
    let shipments = state.shipments.clone();
    let mut service = service(state)
        .background(
            "warehouse",
            fulfilment::warehouse(shipments.clone(), config.dispatch_after),
        )
        .background(
            "inbox-prune",
            apiary_store::inbox::keep_pruned(shipments.db().clone()),
        );
    if let Some(broker) = Broker::from_config(&config.broker, SERVICE.name) {
        service = service
            .reports("broker", broker.readiness())
            .background("consumer", fulfilment::consume(shipments, broker));
    }
    Ok(service.bind(config.host, config.port).await?)
}

/// The service on `state`; [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(state: AppState) -> ServiceBuilder {
    // The quote store is memory; the check exercises its lock, so a wedged store shows.
    let checked = state.quotes.clone();
    ServiceBuilder::new(SERVICE)
        .metrics(metrics::describe)
        .database(state.shipments.db())
        .ready("quote_store", move || {
            checked.len();
            async { Ok::<(), CheckError>(()) }
        })
        .api(routes::api(state))
}
