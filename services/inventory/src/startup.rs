//! Building the service: its store (seeded with stock), its readiness, its routes, its
//! metrics, its sweeper.

use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServiceBuilder};
use apiary_store::StoreError;

use crate::config::Config;
use crate::domain::ProductId;
use crate::routes::{self, AppState};
use crate::store::{InventoryError, InventoryStore};
use crate::{SERVICE, metrics, sweeper};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot seed stock: {0}")]
    Seed(#[from] InventoryError),
    #[error("the product seed holds an invalid id: {0}")]
    SeedId(String),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// Opens (migrates, seeds) the store and binds the listener: ready to run.
pub async fn build(config: Config) -> Result<Bound, StartError> {
    let store = InventoryStore::open(&config.data_dir)?;
    let added = store.seed(seed_stock()?).await?;
    tracing::info!(added, "stock seeded");
    let sweep = sweeper::run(store.clone(), config.sweep_every);
    let state = AppState {
        store,
        hold: config.hold,
    };
    Ok(service(state)
        .background("reservation_sweeper", sweep)
        .bind(config.host, config.port)
        .await?)
}

/// The service on `state`; [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(state: AppState) -> ServiceBuilder {
    // Ready means the database answers: without it nothing here can be served.
    ServiceBuilder::new(SERVICE)
        .metrics(metrics::describe)
        .database(state.store.db())
        .api(routes::api(state))
}

/// Every seed product with its initial stock.
fn seed_stock() -> Result<Vec<(ProductId, u32)>, StartError> {
    apiary_seed::products()
        .iter()
        .map(|p| {
            ProductId::parse(&p.id)
                .map(|id| (id, p.stock))
                .map_err(|e| StartError::SeedId(e.to_string()))
        })
        .collect()
}
