//! Building the service: its model (seeded with the products), its readiness, its routes, its
//! metrics, and the learner that follows the orders feed.

use std::sync::{Arc, RwLock};

use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServiceBuilder};

use crate::clients::OrdersClient;
use crate::config::Config;
use crate::learner::Learner;
use crate::model::Model;
use crate::products::ProductIndex;
use crate::routes::{self, AppState};
use crate::{SERVICE, metrics};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the orders client: {0}")]
    Client(#[from] reqwest::Error),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A seeded model, its learner and a bound listener: ready to run (and learn).
pub async fn build(config: Config) -> Result<Bound, StartError> {
    let index = ProductIndex::from_seed();
    tracing::info!(products = index.len(), "product seed loaded");
    let model = Arc::new(RwLock::new(Model::new(index)));
    let learner = Learner::new(OrdersClient::new(&config.orders)?, model.clone());
    Ok(service(model)
        .background("learner", learner.run(config.poll_interval))
        .bind(config.host, config.port)
        .await?)
}

/// The service on `model`; [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(model: AppState) -> ServiceBuilder {
    // Ready means the seed is loaded. Orders is deliberately not a check: without it the
    // service still answers (with similar products), which is the whole point.
    let checked = model.clone();
    ServiceBuilder::new(SERVICE)
        .metrics(metrics::describe)
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
