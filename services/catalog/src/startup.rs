//! Building the service: its product store, its readiness, its routes.

use std::sync::Arc;

use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServiceBuilder};

use crate::SERVICE;
use crate::config::Config;
use crate::routes;
use crate::store::{ProductStore, SeedError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// Loads the products and binds the listener: ready to run.
pub async fn build(config: Config) -> Result<Bound, StartError> {
    let store = match &config.seed {
        Some(path) => ProductStore::from_file(path)?,
        None => ProductStore::built_in()?,
    };
    tracing::info!(products = store.len(), "product store loaded");
    Ok(service(Arc::new(store))
        .bind(config.host, config.port)
        .await?)
}

/// The service on `store`; [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(store: Arc<ProductStore>) -> ServiceBuilder {
    let loaded = store.clone();
    ServiceBuilder::new(SERVICE)
        .ready("product_store", move || {
            let empty = loaded.is_empty();
            async move {
                if empty {
                    Err("no products loaded".to_owned())
                } else {
                    Ok(())
                }
            }
        })
        .api(routes::api(store))
}
