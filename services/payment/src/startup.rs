//! Building the service: its ledger, its readiness, its routes, its metrics, its key expiry.

use std::sync::Arc;
use std::time::Duration;

use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServiceBuilder};
use apiary_store::StoreError;

use crate::config::Config;
use crate::routes::{self, AppState};
use crate::store::PaymentStore;
use crate::{SERVICE, metrics};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// Opens (and migrates) the ledger and binds the listener: ready to run.
pub async fn build(config: Config) -> Result<Bound, StartError> {
    let store = Arc::new(PaymentStore::open(&config.data_dir)?);
    let state = AppState {
        store: store.clone(),
        latency: config.latency,
    };
    Ok(service(state)
        .background("key_expiry", expire_keys(store, config.key_retention))
        .bind(config.host, config.port)
        .await?)
}

/// The service on `state`; [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(state: AppState) -> ServiceBuilder {
    // Ready means the ledger answers: without it no charge can be recorded.
    ServiceBuilder::new(SERVICE)
        .metrics(metrics::describe)
        .database(state.store.db())
        .api(routes::api(state))
}

/// Declined keys and tombstones are forgotten after `retention`, checked this often, so the
/// ledger file grows only with real charges.
const EXPIRE_EVERY: Duration = Duration::from_secs(600);

async fn expire_keys(store: Arc<PaymentStore>, retention: Duration) {
    loop {
        let cutoff =
            apiary_store::now_ms() - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        match store.expire_keys(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "declined keys and tombstones expired"),
            Err(e) => tracing::warn!(error = %e, "cannot expire old keys"),
        }
        tokio::time::sleep(EXPIRE_EVERY).await;
    }
}
