//! Building the service: its in-memory store, its readiness, its routes, its metrics, its
//! expiry sweeper and the cart-store-lost fault.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_chassis::health::CheckError;
use apiary_chassis::server::BindError;
use apiary_chassis::{Bound, ServiceBuilder};

use crate::config::Config;
use crate::routes;
use crate::store::CartStore;
use crate::{SERVICE, metrics};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// An empty store and a bound listener: ready to run.
pub async fn build(config: Config) -> Result<Bound, StartError> {
    let store = Arc::new(CartStore::new(config.ttl, config.max_carts));
    build_on(store, config).await
}

/// As [`build`], serving `store` (tests keep a handle on it).
pub async fn build_on(store: Arc<CartStore>, config: Config) -> Result<Bound, StartError> {
    tracing::info!(
        ttl_secs = config.ttl.as_secs(),
        max_carts = config.max_carts,
        "cart store ready (in memory: a restart loses every cart)"
    );
    Ok(service(store.clone())
        .background(
            "cart_sweeper",
            sweep_forever(store.clone(), config.sweep_interval),
        )
        .background("cart_store_lost_fault", lose_carts_while_faulted(store))
        .bind(config.host, config.port)
        .await?)
}

/// The service on `store`; [`ServiceBuilder::router`] serves it without a socket (tests).
pub fn service(store: Arc<CartStore>) -> ServiceBuilder {
    // The store is plain memory: if this process answers, the store is usable. The check
    // still exercises the store's lock, so a wedged store shows up as not ready.
    let checked = store.clone();
    ServiceBuilder::new(SERVICE)
        .metrics(metrics::describe)
        .ready("cart_store", move || {
            checked.stats(Instant::now());
            async { Ok::<(), CheckError>(()) }
        })
        .api(routes::api(store))
}

async fn sweep_forever(store: Arc<CartStore>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let expired = store.sweep(Instant::now());
        if expired > 0 {
            tracing::debug!(expired, "expired carts dropped");
        }
    }
}

/// The "cart store lost" fault: while it is on, the store is wiped every second, as if the
/// process holding it kept restarting. The carts are gone; `shop_carts_lost_total` says how many.
async fn lose_carts_while_faulted(store: Arc<CartStore>) {
    // At 0 until the first loss, so a rate over it reads 0 rather than no data.
    apiary_telemetry::metrics::counter!(metrics::LOST).increment(0);
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if apiary_chassis::faults::store_lost().await {
            let lost = store.clear();
            apiary_telemetry::metrics::counter!(metrics::LOST).increment(lost as u64);
            tracing::warn!(lost, "injected fault: cart store lost");
        }
    }
}
