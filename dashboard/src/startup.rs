//! Building and running the dashboard server: three listeners (UI/API, OTLP gRPC, OTLP HTTP),
//! the monitor loop, and graceful shutdown of all of them together.

use secrecy::SecretString;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apiary_chassis::{Readiness, ServeLimits, standard_router};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{self, ApiState};
use crate::config::Config;
use crate::control::{self, Control};
use crate::monitor::{self, Annotations, MessagingWatch, Snapshot, Target};
use crate::otlp::{self, Ingest};
use crate::security::{self, ApiKey, Token};
use crate::store::Store;
use tower_http::compression::CompressionLayer;

const DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot bind {addr} ({what}): {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Manifest(#[from] apiary_manifest::ManifestError),
    #[error("cannot make a token: {0}")]
    Token(std::io::Error),
}

/// What to tell the person starting it about access (`Debug` prints neither secret).
#[derive(Debug, Clone)]
pub enum Access {
    /// Loopback: open.
    Loopback,
    /// Off loopback with a token and an OTLP key.
    Token {
        token: SecretString,
        api_key: SecretString,
    },
    /// Off loopback, `--unsecured`.
    Unsecured,
}

pub struct Application {
    api: TcpListener,
    grpc: TcpListener,
    http: TcpListener,
    config: Config,
    targets: Vec<Target>,
    /// How every target's instances are found.
    instances: apiary_chassis::balance::Discovery,
    messaging: MessagingWatch,
    pub store: Arc<Store>,
    pub access: Access,
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { what, addr, source })
}

fn port(l: &TcpListener) -> u16 {
    l.local_addr().map(|a| a.port()).unwrap_or(0)
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let (targets, messaging, instances) = match &config.manifest {
            Some(path) => {
                let mut manifest = apiary_manifest::Manifest::load(path)?;
                if let Some(addresses) = config.addresses {
                    manifest.stack.addresses = addresses;
                }
                let messaging =
                    MessagingWatch::from_manifest(&manifest, config.broker_metrics_url.clone());
                let instances = monitor::instances_for(&manifest, config.data_dir.as_deref());
                (
                    monitor::targets_from_manifest(&manifest),
                    messaging,
                    instances,
                )
            }
            None => (
                Vec::new(),
                MessagingWatch::default(),
                apiary_chassis::balance::Discovery::Static,
            ),
        };
        let mut app = Self::build_with_targets(config, targets).await?;
        app.messaging = messaging;
        app.instances = instances;
        Ok(app)
    }

    /// As `build`, with the scrape targets given (tests point them at their own servers).
    pub async fn build_with_targets(
        config: Config,
        targets: Vec<Target>,
    ) -> Result<Self, StartError> {
        let access = if config.host.is_loopback() {
            Access::Loopback
        } else if config.unsecured {
            Access::Unsecured
        } else {
            let token = match &config.token {
                Some(t) => t.clone(),
                None => security::generate_token()
                    .map_err(StartError::Token)?
                    .into(),
            };
            let api_key = config.api_key.clone().unwrap_or_else(|| token.clone());
            Access::Token { token, api_key }
        };
        let api = bind("UI and API", SocketAddr::new(config.host, config.port)).await?;
        let grpc = bind(
            "OTLP gRPC",
            SocketAddr::new(config.host, config.otlp_grpc_port),
        )
        .await?;
        let http = bind(
            "OTLP HTTP",
            SocketAddr::new(config.host, config.otlp_http_port),
        )
        .await?;
        let store = Store::new(config.limits);
        Ok(Self {
            api,
            grpc,
            http,
            config,
            targets,
            instances: apiary_chassis::balance::Discovery::Static,
            messaging: MessagingWatch::default(),
            store,
            access,
        })
    }

    pub fn port(&self) -> u16 {
        port(&self.api)
    }

    /// Overrides the access mode chosen from the bind address (tests exercise the token on
    /// loopback, since tests never bind anything else).
    pub fn with_access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    pub fn otlp_grpc_port(&self) -> u16 {
        port(&self.grpc)
    }

    pub fn otlp_http_port(&self) -> u16 {
        port(&self.http)
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (token, key, warning) = match &self.access {
            Access::Loopback => (Token::default(), ApiKey::default(), None),
            Access::Token { token, api_key } => (
                Token(Some(token.clone())),
                ApiKey(Some(api_key.clone())),
                None,
            ),
            Access::Unsecured => (
                Token::default(),
                ApiKey::default(),
                Some("UNSECURED: this dashboard accepts anyone on the network"),
            ),
        };
        let forward = self.config.forward_otlp.as_deref().map(|url| {
            tracing::info!(collector = url, "forwarding every accepted OTLP export");
            crate::otlp::forward::Forwarder::start(url)
        });
        let ingest = Ingest::forwarding(self.store.clone(), self.config.ingest_budget, forward);
        let (snap_tx, snap_rx) = watch::channel(Arc::new(Snapshot::empty(self.store.stats())));
        let annotations = Arc::new(Annotations::default());
        let monitor = tokio::spawn(monitor::run(
            self.targets,
            self.instances,
            self.store.clone(),
            self.config.thresholds,
            self.config.scrape_interval,
            annotations.clone(),
            self.messaging,
            snap_tx,
        ));
        let seen = Arc::new(crate::seen::SeenLog::default());
        let control = match &self.config.manifest {
            Some(manifest) => match Control::start(
                manifest,
                self.config.data_dir.clone(),
                self.config.control_token.clone(),
                self.config.load_url.clone(),
                self.config.launcher_url.clone(),
                control::Views {
                    annotations,
                    snapshots: snap_rx.clone(),
                    store: self.store.clone(),
                    seen: seen.clone(),
                },
            ) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::error!(error = %e, "the control plane (faults, drills) is off");
                    None
                }
            },
            None => None,
        };

        // One shutdown signal fans out to the three servers.
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };

        let flags = control.as_ref().map(|c| c.faults.flag_updates());
        let api_state = ApiState {
            store: self.store.clone(),
            snapshots: snap_rx.clone(),
            unsecured_warning: warning,
            seen,
            event_streams: Arc::new(tokio::sync::Semaphore::new(
                self.config
                    .max_event_streams
                    .clamp(1, tokio::sync::Semaphore::MAX_PERMITS),
            )),
        };
        let api_router =
            api::router(api_state.clone()).merge(control::routes::router(control.clone()));
        let with_pages = with_pages(
            api_router,
            self.config.site_root.clone(),
            api_state,
            control,
        );
        // gzip for pages and API answers (a 1000-trace search is mostly repeated keys); the
        // default predicate leaves the event stream, gRPC and small bodies alone, and the
        // bundle files arrive already compressed.
        let mut api = with_pages
            .layer(CompressionLayer::new())
            .layer(axum::middleware::from_fn_with_state(
                token,
                security::require_token,
            ))
            // Outermost: a request for a foreign host name is refused before anything else.
            .layer(axum::middleware::from_fn_with_state(
                security::AllowedHosts::new(self.config.host, &self.config.allowed_hosts),
                security::require_allowed_host,
            ));
        if warning.is_some() {
            api = api.layer(axum::middleware::map_response(
                security::add_unsecured_warning,
            ));
        }
        let app = standard_router(
            api,
            Readiness::new(),
            ServeLimits {
                request_timeout: Duration::from_secs(3600),
                ..ServeLimits::default()
            },
        );
        let otlp_http = otlp::http::router(
            ingest.clone(),
            key.clone(),
            otlp::http::HttpLimits {
                body_limit: self.config.body_limit,
                ..self.config.otlp_http
            },
        );
        let grpc = otlp::grpc::serve(
            self.grpc,
            ingest,
            key,
            self.config.body_limit,
            flags,
            stopped(),
        );
        let (a, b, c) = tokio::join!(
            apiary_chassis::serve(self.api, app, stopped(), DRAIN),
            apiary_chassis::serve(self.http, otlp_http, stopped(), DRAIN),
            grpc,
        );
        monitor.abort();
        a?;
        b?;
        c.map_err(std::io::Error::other)
    }
}

/// The API with the UI's pages and bundle files (feature `ui`, on by default), which read
/// the API in process while rendering.
#[cfg(feature = "ui")]
fn with_pages(
    api_router: axum::Router,
    site_root: Option<std::path::PathBuf>,
    api: ApiState,
    control: Option<Arc<control::Control>>,
) -> axum::Router {
    let site =
        dashboard_ui::server::Site::new(site_root.unwrap_or_else(crate::ui::default_site_root));
    if !site.has_bundle() {
        tracing::warn!(
            site_root = %site.root.display(),
            "no UI bundle: pages render but do not update live (build it with `cargo run --release -p apiary-ui-build`, or set DASHBOARD_SITE_ROOT)"
        );
    }
    let pages = dashboard_ui::server::router(site, Arc::new(crate::ui::LocalApi { api, control }));
    api_router.merge(pages)
}

/// Without the `ui` feature (the fuzzer's build): the API alone.
#[cfg(not(feature = "ui"))]
fn with_pages(
    api_router: axum::Router,
    _site_root: Option<std::path::PathBuf>,
    _api: ApiState,
    _control: Option<Arc<control::Control>>,
) -> axum::Router {
    api_router
}
