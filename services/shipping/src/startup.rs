//! Building the service: its quote store, its readiness, its routes, its metrics.

use std::sync::Arc;

use apiary_chassis::health::CheckError;
use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServiceBuilder};

use crate::config::Config;
use crate::routes;
use crate::store::QuoteStore;
use crate::{SERVICE, metrics};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// An empty quote store and a bound listener: ready to run.
pub async fn build(config: Config) -> Result<Bound, StartError> {
    let store = Arc::new(QuoteStore::new(config.quote_ttl, config.max_quotes));
    Ok(service(store).bind(config.host, config.port).await?)
}

/// The service on `store`; [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(store: Arc<QuoteStore>) -> ServiceBuilder {
    // The quote store is memory; the check exercises its lock, so a wedged store shows.
    let checked = store.clone();
    ServiceBuilder::new(SERVICE)
        .metrics(metrics::describe)
        .ready("quote_store", move || {
            checked.len();
            async { Ok::<(), CheckError>(()) }
        })
        .api(routes::api(store))
}
