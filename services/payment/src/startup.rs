//! Building and running the service.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apiary_store::{Db, StoreError};
use apiary_telemetry::server::{BindError, Service, bind};
use apiary_telemetry::{Readiness, ServeLimits, standard_router};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::routes::{self, AppState};
use crate::store::{MIGRATIONS, PaymentStore};
use crate::{SERVICE, business_metrics};

/// How long in-flight requests may finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bind(#[from] BindError),
}

/// A built service: database open and migrated, listener bound, not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let db = Db::open(&config.data_dir, SERVICE.name, MIGRATIONS)?;
        let store = Arc::new(PaymentStore::new(db));
        spawn_key_expiry(store.clone(), config.key_retention);
        let state = AppState {
            store,
            latency: config.latency,
        };
        let (listener, port) = bind(config.host, config.port).await?;
        Ok(Self {
            listener,
            port,
            state,
        })
    }

    /// The full router (API + operational routes + middleware), for socket-free tests.
    pub fn router(state: AppState) -> axum::Router {
        business_metrics::register();
        let db = state.store.db().clone();
        // Ready means the ledger answers: without it no charge can be recorded.
        let readiness = Readiness::new().check("ledger_db", move || {
            let db = db.clone();
            async move { db.ping().await }
        });
        standard_router(routes::router(state), readiness, ServeLimits::default())
    }
}

/// Declined keys and tombstones are forgotten after `retention`, checked this often, so the
/// ledger file grows only with real charges.
const EXPIRE_EVERY: Duration = Duration::from_secs(600);

fn spawn_key_expiry(store: Arc<PaymentStore>, retention: Duration) {
    tokio::spawn(async move {
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
    });
}

impl Service for Application {
    fn port(&self) -> u16 {
        self.port
    }

    async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        apiary_telemetry::serve(self.listener, Self::router(self.state), shutdown, DRAIN).await
    }
}
