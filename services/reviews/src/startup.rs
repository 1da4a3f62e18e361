//! Building the service: its store (seeded on first start), its readiness, its routes, its
//! metrics.

use std::collections::HashSet;
use std::sync::Arc;

use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServiceBuilder};
use apiary_store::StoreError;

use crate::config::Config;
use crate::routes::{self, AppState};
use crate::store::ReviewStore;
use crate::{SERVICE, metrics, seed};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the product seed is empty or unreadable; reviews need to know the products")]
    NoProducts,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// Opens (migrates, seeds when empty) the store and binds the listener: ready to run.
pub async fn build(config: Config) -> Result<Bound, StartError> {
    let products = apiary_seed::products();
    if products.is_empty() {
        return Err(StartError::NoProducts);
    }
    let store = ReviewStore::open(&config.data_dir)?;
    if config.seed_reviews {
        let written = store.seed_if_empty(seed::generate(products)).await?;
        if written > 0 {
            tracing::info!(reviews = written, "seeded an empty review store");
        }
    }
    let state = AppState {
        store: Arc::new(store),
        products: Arc::new(
            products
                .iter()
                .map(|p| p.id.clone())
                .collect::<HashSet<_>>(),
        ),
    };
    Ok(service(state).bind(config.host, config.port).await?)
}

/// The service on `state`; [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(state: AppState) -> ServiceBuilder {
    ServiceBuilder::new(SERVICE)
        .metrics(metrics::describe)
        .database(state.store.db())
        .api(routes::api(state))
}
