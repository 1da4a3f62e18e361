//! [`ServiceBuilder`]: a service described in a few declarative lines — who it is, its routes,
//! its readiness checks (its database, the peers it cannot work without, its own), its limits,
//! its background work and its business metrics — then bound ([`ServiceBuilder::bind`]) and run
//! by [`crate::server::run_service`] or a test's `Served`.
//!
//! ```ignore
//! pub async fn build(config: Config) -> Result<Bound, StartError> {
//!     let store = OrderStore::open(&config.data_dir)?;
//!     Ok(ServiceBuilder::new(SERVICE)
//!         .metrics(metrics::describe)
//!         .database(store.db())
//!         .api(routes::api(AppState { store }))
//!         .bind(config.host, config.port)
//!         .await?)
//! }
//! ```
//!
//! Every service gets the same things this way: the standard router (operational routes,
//! fault layer, deadlines, instrumentation, shedding, timeout, body limit), a database check
//! named `database`, peer checks named after the peer, business metrics described once at
//! start-up (never as a side effect of building a router), background tasks that stop with
//! the server, and a bounded drain on shutdown.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::Duration;

use apiary_telemetry::ServiceInfo;
use axum::Router;
use tokio::net::TcpListener;

use crate::health::{CheckError, Readiness};
use crate::http_client::HttpClient;
use crate::server::{BindError, ServeLimits, Service, bind, serve, standard_router};

/// How long in-flight requests may finish after a shutdown signal, unless a service says
/// otherwise.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(5);

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;
type Wrap = Box<dyn FnOnce(Router) -> Router + Send>;

/// See the module documentation.
#[must_use = "a service is only served once bound and run"]
pub struct ServiceBuilder {
    info: ServiceInfo,
    api: Router,
    readiness: Readiness,
    limits: ServeLimits,
    drain: Duration,
    describe: Vec<fn()>,
    tasks: Vec<(&'static str, Task)>,
    outer: Vec<Wrap>,
}

impl std::fmt::Debug for ServiceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tasks: Vec<&str> = self.tasks.iter().map(|(n, _)| *n).collect();
        f.debug_struct("ServiceBuilder")
            .field("service", &self.info.name)
            .field("readiness", &self.readiness)
            .field("limits", &self.limits)
            .field("drain", &self.drain)
            .field("tasks", &tasks)
            .finish_non_exhaustive()
    }
}

impl ServiceBuilder {
    pub fn new(info: ServiceInfo) -> Self {
        Self {
            info,
            api: Router::new(),
            readiness: Readiness::new(),
            limits: ServeLimits::default(),
            drain: DEFAULT_DRAIN,
            describe: Vec::new(),
            tasks: Vec::new(),
            outer: Vec::new(),
        }
    }

    /// The service's API (merged with any routes added before).
    pub fn routes(mut self, api: Router) -> Self {
        self.api = self.api.merge(api);
        self
    }

    /// The service's documented API: each route and its OpenAPI operation declared once
    /// (utoipa-axum's `routes!`), served with `GET /openapi.json` amended with the answers the
    /// standard parts can give (see [`crate::server::openapi_route`]).
    pub fn api(self, api: utoipa_axum::router::OpenApiRouter) -> Self {
        let (router, doc) = api.split_for_parts();
        self.routes(router.merge(crate::server::openapi_route(doc)))
    }

    /// A named readiness check; an error means not ready (see [`Readiness::check`]).
    pub fn ready<F, Fut, E>(mut self, name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<CheckError>,
    {
        self.readiness = self.readiness.check(name, check);
        self
    }

    /// A named check that is reported on `/health/ready` but never makes the service unready
    /// (see [`Readiness::report`]): links the service can serve without, like the broker.
    pub fn reports<F, Fut, E>(mut self, name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<CheckError>,
    {
        self.readiness = self.readiness.report(name, check);
        self
    }

    /// Ready only while the service's database answers: the check every durable service has,
    /// named `database`.
    pub fn database(self, db: &apiary_store::Db) -> Self {
        let db = db.clone();
        self.ready("database", move || {
            let db = db.clone();
            async move { db.ping().await }
        })
    }

    /// Ready only while `peer` answers its liveness probe: for the downstreams without which
    /// this service cannot do its job (the check is named after the peer).
    pub fn needs(self, peer: &HttpClient) -> Self {
        let name = peer.peer().to_owned();
        let peer = peer.clone();
        self.ready(name, move || {
            let peer = peer.clone();
            async move { peer.live().await }
        })
    }

    /// Limits other than [`ServeLimits::default`].
    pub fn limits(mut self, limits: ServeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// How long in-flight requests may finish after a shutdown signal ([`DEFAULT_DRAIN`]).
    pub fn drain(mut self, drain: Duration) -> Self {
        self.drain = drain;
        self
    }

    /// Describes (and where it wants, creates at zero) the service's business metrics: run
    /// once when the service is bound.
    pub fn metrics(mut self, describe: fn()) -> Self {
        self.describe.push(describe);
        self
    }

    /// Work that runs beside the server from the moment it serves and stops with it (sweepers,
    /// learners, expiry), however the server stops.
    pub fn background(
        mut self,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.tasks.push((name, Box::pin(task)));
        self
    }

    /// Wraps the whole standard router (outermost; e.g. a check that must run before the
    /// standard layers).
    pub fn wrap(mut self, f: impl FnOnce(Router) -> Router + Send + 'static) -> Self {
        self.outer.push(Box::new(f));
        self
    }

    /// The full router (API, operational routes, middleware), for socket-free tests. Background
    /// tasks are not started and metrics are not described.
    pub fn router(self) -> Router {
        assemble(self.api, self.readiness, self.limits, self.outer)
    }

    /// Describes the metrics and binds `host:port` (port 0 picks a free one): the service is
    /// then ready to run, and its port is known.
    pub async fn bind(self, host: IpAddr, port: u16) -> Result<Bound, BindError> {
        let Self {
            info,
            api,
            readiness,
            limits,
            drain,
            describe,
            tasks,
            outer,
        } = self;
        for describe in describe {
            describe();
        }
        let router = assemble(api, readiness, limits, outer);
        let (listener, port) = bind(host, port).await?;
        Ok(Bound {
            info,
            listener,
            port,
            router,
            tasks,
            drain,
        })
    }
}

fn assemble(api: Router, readiness: Readiness, limits: ServeLimits, outer: Vec<Wrap>) -> Router {
    outer
        .into_iter()
        .fold(standard_router(api, readiness, limits), |router, wrap| {
            wrap(router)
        })
}

/// A built service: listener bound, not yet serving.
pub struct Bound {
    info: ServiceInfo,
    listener: TcpListener,
    port: u16,
    router: Router,
    tasks: Vec<(&'static str, Task)>,
    drain: Duration,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("service", &self.info.name)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Aborts a background task when the server stops, however it stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Service for Bound {
    fn port(&self) -> u16 {
        self.port
    }

    async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let _tasks: Vec<AbortOnDrop> = self
            .tasks
            .into_iter()
            .map(|(name, task)| {
                tracing::debug!(task = name, "background task started");
                AbortOnDrop(tokio::spawn(task))
            })
            .collect();
        serve(self.listener, self.router, shutdown, self.drain).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    const INFO: ServiceInfo = ServiceInfo {
        name: "example",
        version: "0.0.0",
    };

    fn get_req(path: &str) -> axum::http::Request<axum::body::Body> {
        axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .expect("request")
    }

    #[tokio::test]
    async fn the_router_serves_routes_and_names_every_readiness_check() {
        let router = ServiceBuilder::new(INFO)
            .routes(Router::new().route("/hello", get(|| async { "hi" })))
            .ready("own", || async { Ok::<(), CheckError>(()) })
            .ready("broken", || async {
                Err::<(), _>("it is broken".to_owned())
            })
            .router();
        let hello = router
            .clone()
            .oneshot(get_req("/hello"))
            .await
            .expect("answer");
        assert_eq!(hello.status(), 200);
        let ready = router
            .oneshot(get_req("/health/ready"))
            .await
            .expect("answer");
        assert_eq!(ready.status(), 503);
        let body = axum::body::to_bytes(ready.into_body(), 1 << 16)
            .await
            .expect("body");
        let report: serde_json::Value = serde_json::from_slice(&body).expect("json");
        let names: Vec<&str> = report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, ["own", "broken", "injected_fault"]);
        assert_eq!(report["failed"], serde_json::json!(["broken"]));
    }

    #[tokio::test]
    async fn metrics_are_described_once_at_bind_not_by_the_router() {
        static DESCRIBED: AtomicU32 = AtomicU32::new(0);
        fn describe() {
            DESCRIBED.fetch_add(1, Ordering::SeqCst);
        }
        let _router = ServiceBuilder::new(INFO).metrics(describe).router();
        assert_eq!(DESCRIBED.load(Ordering::SeqCst), 0, "building a router");
        let bound = ServiceBuilder::new(INFO)
            .metrics(describe)
            .bind(IpAddr::from([127, 0, 0, 1]), 0)
            .await
            .expect("bind");
        assert_eq!(DESCRIBED.load(Ordering::SeqCst), 1, "binding");
        assert_ne!(bound.port(), 0);
    }

    #[tokio::test]
    async fn background_tasks_run_while_serving_and_stop_with_the_server() {
        let ticks = Arc::new(AtomicU32::new(0));
        let counted = ticks.clone();
        let bound = ServiceBuilder::new(INFO)
            .background("ticker", async move {
                loop {
                    counted.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .drain(Duration::from_millis(100))
            .bind(IpAddr::from([127, 0, 0, 1]), 0)
            .await
            .expect("bind");
        assert_eq!(ticks.load(Ordering::SeqCst), 0, "not before serving");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(bound.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(ticks.load(Ordering::SeqCst) > 0, "runs while serving");
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("stops")
            .expect("joins")
            .expect("served");
        let after = ticks.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            ticks.load(Ordering::SeqCst),
            after,
            "stopped with the server"
        );
    }
}
