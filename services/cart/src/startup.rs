//! Building and running the service.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_telemetry::server::{BindError, Service, bind};
use apiary_telemetry::{Readiness, ServeLimits, standard_router};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::routes;
use crate::store::CartStore;

/// How long in-flight requests may finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A built service: bound, with an empty store, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    store: Arc<CartStore>,
    sweep_interval: Duration,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let store = Arc::new(CartStore::new(config.ttl, config.max_carts));
        describe_metrics();
        let (listener, port) = bind(config.host, config.port).await?;
        tracing::info!(
            ttl_secs = config.ttl.as_secs(),
            max_carts = config.max_carts,
            "cart store ready (in memory: a restart loses every cart)"
        );
        Ok(Self {
            listener,
            port,
            store,
            sweep_interval: config.sweep_interval,
        })
    }

    /// The store this application serves (tests and the future fault drill reach it here).
    pub fn store(&self) -> Arc<CartStore> {
        self.store.clone()
    }

    /// The full router (API + operational routes + middleware), for socket-free tests.
    pub fn router(store: Arc<CartStore>) -> axum::Router {
        // The store is plain memory: if this process answers, the store is usable. The check
        // still exercises the store's lock, so a wedged store shows up as not ready.
        let for_check = store.clone();
        let readiness = Readiness::new().check("cart_store", move || {
            let store = for_check.clone();
            async move {
                store.stats(Instant::now());
                Ok::<(), apiary_telemetry::health::CheckError>(())
            }
        });
        standard_router(routes::router(store), readiness, ServeLimits::default())
    }
}

/// Aborts the sweeper when the service stops, however it stops.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
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
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if apiary_telemetry::faults::store_lost().await {
            let lost = store.clear();
            apiary_telemetry::metrics::counter!(crate::store::LOST).increment(lost as u64);
            tracing::warn!(lost, "injected fault: cart store lost");
        }
    }
}

fn describe_metrics() {
    use crate::store::{ACTIVE, ADDITIONS, EVICTED, EXPIRED, LOST, UNITS};
    use apiary_telemetry::metrics::{describe_counter, describe_gauge};
    describe_counter!(ADDITIONS, "Successful add-to-cart requests.");
    describe_gauge!(ACTIVE, "Carts held now (not expired).");
    describe_gauge!(UNITS, "Units across all carts held now.");
    describe_counter!(EXPIRED, "Carts dropped because their time-to-live passed.");
    describe_counter!(EVICTED, "Carts dropped to make room: the store was full.");
    describe_counter!(
        LOST,
        "Carts lost with the store (the cart-store-lost fault)."
    );
}

impl Service for Application {
    fn port(&self) -> u16 {
        self.port
    }

    async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let _sweeper = AbortOnDrop(tokio::spawn(sweep_forever(
            self.store.clone(),
            self.sweep_interval,
        )));
        let _loser = AbortOnDrop(tokio::spawn(lose_carts_while_faulted(self.store.clone())));
        apiary_telemetry::serve(self.listener, Self::router(self.store), shutdown, DRAIN).await
    }
}
