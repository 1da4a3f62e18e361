//! Building the service: its model (seeded with the products, rebuilt from the learned
//! baskets), its readiness, its routes, its metrics, and the learner that consumes the order
//! events.

use std::sync::{Arc, RwLock};

use apiary_bus::Broker;
use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServiceBuilder};
use apiary_store::StoreError;

use crate::baskets::BasketStore;
use crate::config::Config;
use crate::model::Model;
use crate::products::ProductIndex;
use crate::routes::{self, AppState};
use crate::{SERVICE, learner, metrics};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A seeded model rebuilt from what was learned before, its learner (with a broker) and a bound
/// listener: ready to run (and learn).
pub async fn build(config: Config) -> Result<Bound, StartError> {
    let index = ProductIndex::from_seed();
    tracing::info!(products = index.len(), "product seed loaded");
    let model = Arc::new(RwLock::new(Model::new(index)));
    let store = BasketStore::open(&config.data_dir)?;
    let learned = learner::rebuild(&store, &model).await?;
    tracing::info!(
        orders = learned,
        "co-purchase model rebuilt from the learned baskets"
    );
    let mut service = service(model.clone(), &store).background(
        "inbox-prune",
        apiary_store::inbox::keep_pruned(store.db().clone()),
    );
    if let Some(broker) = Broker::from_config(&config.broker, SERVICE.name) {
        service = service
            .reports("broker", broker.readiness())
            .background("learner", learner::run(store, model, broker));
    }
    Ok(service.bind(config.host, config.port).await?)
}

/// The service on `model`; [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(model: AppState, store: &BasketStore) -> ServiceBuilder {
    // Ready means the seed is loaded and the basket store answers. The broker is deliberately
    // not required: without it the service still answers (with what it learned, padded with
    // similar products), which is the whole point.
    let checked = model.clone();
    ServiceBuilder::new(SERVICE)
        .metrics(metrics::describe)
        .database(store.db())
        .ready("product_seed", move || {
            let loaded = !checked
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
        })
        .api(routes::api(model))
}
