//! Building the service: its store, its readiness, its routes, its metrics.

use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServiceBuilder};
use apiary_store::StoreError;

use crate::config::Config;
use crate::routes::{self, AppState};
use crate::store::OrderStore;
use crate::{SERVICE, metrics};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// Opens (and migrates) the store and binds the listener: ready to run.
pub async fn build(config: Config) -> Result<Bound, StartError> {
    let store = OrderStore::open(&config.data_dir)?;
    Ok(service(AppState { store })
        .bind(config.host, config.port)
        .await?)
}

/// The service on `state`; [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(state: AppState) -> ServiceBuilder {
    // Ready means the database answers: without it no order can be recorded.
    ServiceBuilder::new(SERVICE)
        .metrics(metrics::describe)
        .database(state.store.db())
        .api(routes::api(state))
}
