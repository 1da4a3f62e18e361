//! Client-side load balancing over a downstream's instances.
//!
//! Where a downstream's instances are comes from [`Discovery`] (`APIARY_DISCOVERY`): the
//! launcher's endpoints file for it (`file:<dir>`, re-read every second), every address its
//! name resolves to (`dns`: a headless Kubernetes Service, compose replicas), or just the one
//! URL it was given. A watcher probes every instance's `/health/ready` each second when there
//! is more than one, and hands the ready ones to tower's power-of-two-choices balancer
//! ([`tower::balance::p2c::Balance`], load = requests in flight), shared by every task
//! through a [`tower::buffer::Buffer`]. An instance whose own circuit breaker is open is not
//! ready to the balancer until its cool-down passes; one that fails its probe leaves the set
//! and comes back when it answers again (the launcher restarts a dead one). When no instance
//! is ready, every known one stays in the set, so the breakers — not an empty set — decide.
//!
//! With one instance there is nothing to choose: calls go straight to it (no buffer hop).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::mpsc;
use tower::balance::p2c::Balance;
use tower::buffer::Buffer;
use tower::discover::Change;
use tower::load::{CompleteOnResponse, PendingRequests};
use tower::{BoxError, Service, ServiceExt};

use crate::http_client::CallError;
use crate::resilience::{BreakerConfig, CircuitBreaker};
use apiary_wire::discovery::{self as wire, Endpoints};

/// How often the watcher re-reads where the instances are and probes them.
const REFRESH: Duration = Duration::from_secs(1);
/// How long one readiness probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// Requests waiting for the balancer at once, at most.
const BUFFER: usize = 1024;

/// How a caller finds a downstream's instances.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Discovery {
    /// The one URL it was given.
    #[default]
    Static,
    /// `<dir>/<service>.json`, written by the launcher.
    File(PathBuf),
    /// Every address the URL's host name resolves to.
    Dns,
}

impl std::str::FromStr for Discovery {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "static" => Ok(Self::Static),
            "dns" => Ok(Self::Dns),
            other => match other.strip_prefix("file:") {
                Some(dir) if !dir.is_empty() => Ok(Self::File(PathBuf::from(dir))),
                _ => Err(format!(
                    "'{other}' is not static, dns or file:<endpoints directory>"
                )),
            },
        }
    }
}

/// One instance of the downstream.
#[derive(Debug)]
struct Endpoint {
    /// Its base URL (`http://127.0.0.1:8101`).
    url: reqwest::Url,
    breaker: CircuitBreaker,
}

type Call = Pin<Box<dyn Future<Output = Result<reqwest::Response, CallError>> + Send>>;
type Shared = Buffer<
    reqwest::Request,
    Pin<Box<dyn Future<Output = Result<reqwest::Response, BoxError>> + Send>>,
>;

/// The instances of one downstream and the balancer over them.
pub(crate) struct Balancer {
    peer: String,
    base: reqwest::Url,
    discovery: Discovery,
    breaker: BreakerConfig,
    client: reqwest::Client,
    /// The ready set, as the watcher last saw it.
    ready: Arc<RwLock<Vec<Arc<Endpoint>>>>,
    /// Started on first use (it needs the runtime).
    shared: OnceLock<Shared>,
}

impl std::fmt::Debug for Balancer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Balancer")
            .field("peer", &self.peer)
            .field("discovery", &self.discovery)
            .finish_non_exhaustive()
    }
}

impl Balancer {
    pub(crate) fn new(
        peer: &str,
        base: reqwest::Url,
        discovery: Discovery,
        breaker: BreakerConfig,
        client: reqwest::Client,
    ) -> Self {
        Self {
            peer: peer.to_owned(),
            base,
            discovery,
            breaker,
            client,
            ready: Arc::new(RwLock::new(Vec::new())),
            shared: OnceLock::new(),
        }
    }

    pub(crate) fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// The settings of each instance's circuit breaker.
    pub(crate) fn breaker_config(&self) -> BreakerConfig {
        self.breaker
    }

    /// Whether calls may need choosing between instances (anything but a static URL).
    pub(crate) fn discovers(&self) -> bool {
        self.discovery != Discovery::Static
    }

    /// The ready instances' base URLs now (tests and the span).
    pub(crate) fn ready_urls(&self) -> Vec<String> {
        self.ready
            .read()
            .map(|r| r.iter().map(|e| e.url.to_string()).collect())
            .unwrap_or_default()
    }

    fn shared(&self) -> &Shared {
        self.shared.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let watcher = Watcher {
                peer: self.peer.clone(),
                base: self.base.clone(),
                discovery: self.discovery.clone(),
                breaker: self.breaker,
                client: self.client.clone(),
                ready: self.ready.clone(),
                tx,
                known: BTreeMap::new(),
                listed: Vec::new(),
            };
            tokio::spawn(watcher.run());
            let discover = tokio_stream::wrappers::UnboundedReceiverStream::new(rx);
            let balance: Balance<_, reqwest::Request> = Balance::new(discover);
            let boxed = balance.map_future(|f| {
                Box::pin(f)
                    as Pin<Box<dyn Future<Output = Result<reqwest::Response, BoxError>> + Send>>
            });
            Buffer::new(boxed, BUFFER)
        })
    }

    /// Sends `request` (addressed to the base URL) to one instance: the only one directly, else
    /// the balancer's choice. `CircuitOpen` when every instance's breaker is open.
    pub(crate) async fn execute(
        &self,
        request: reqwest::Request,
    ) -> Result<reqwest::Response, CallError> {
        let shared = self.shared();
        let ready: Vec<Arc<Endpoint>> = self.ready.read().map(|r| r.clone()).unwrap_or_default();
        match ready.as_slice() {
            // Not discovered yet (the first call of the process): the URL as given.
            [] => self.client.execute(request).await.map_err(CallError::from),
            [only] => call(&self.client, only.clone(), request).await,
            many => {
                if many.iter().all(|e| e.breaker.blocked_for().is_some()) {
                    return Err(CallError::CircuitOpen(self.peer.clone()));
                }
                // The request's own timeout also bounds the wait for a ready instance.
                let limit = request
                    .timeout()
                    .copied()
                    .unwrap_or(Duration::from_secs(30));
                let mut svc = shared.clone();
                let balanced = async {
                    let svc = svc
                        .ready()
                        .await
                        .map_err(|e| into_call_error(&self.peer, e))?;
                    svc.call(request)
                        .await
                        .map_err(|e| into_call_error(&self.peer, e))
                };
                tokio::time::timeout(limit, balanced)
                    .await
                    .unwrap_or(Err(CallError::DeadlineExceeded))
            }
        }
    }
}

fn into_call_error(peer: &str, e: BoxError) -> CallError {
    match e.downcast::<CallError>() {
        Ok(e) => *e,
        Err(other) => CallError::NoInstance(format!("{peer}: {other}")),
    }
}

/// Sends `request` to `endpoint` (its scheme, host and port), recording the outcome in the
/// instance's breaker and the instance on the current span.
fn call(client: &reqwest::Client, endpoint: Arc<Endpoint>, mut request: reqwest::Request) -> Call {
    let url = request.url_mut();
    let _ = url.set_scheme(endpoint.url.scheme());
    let _ = url.set_host(endpoint.url.host_str());
    let _ = url.set_port(endpoint.url.port());
    let span = tracing::Span::current();
    span.record("server.address", endpoint.url.host_str());
    span.record(
        "server.port",
        endpoint.url.port_or_known_default().map(i64::from),
    );
    let client = client.clone();
    Box::pin(async move {
        let result = client.execute(request).await.map_err(CallError::from);
        endpoint
            .breaker
            .record(result.as_ref().is_ok_and(|r| !r.status().is_server_error()));
        result
    })
}

/// One instance as the balancer sees it: ready unless its breaker is open.
struct InstanceService {
    endpoint: Arc<Endpoint>,
    client: reqwest::Client,
    wait: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Service<reqwest::Request> for InstanceService {
    type Response = reqwest::Response;
    type Error = CallError;
    type Future = Call;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), CallError>> {
        loop {
            let Some(left) = self.endpoint.breaker.blocked_for() else {
                self.wait = None;
                return Poll::Ready(Ok(()));
            };
            let wait = self
                .wait
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(left)));
            if wait.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.wait = None;
        }
    }

    fn call(&mut self, request: reqwest::Request) -> Call {
        if !self.endpoint.breaker.allow() {
            let peer = self.endpoint.url.to_string();
            return Box::pin(async move { Err(CallError::CircuitOpen(peer)) });
        }
        call(&self.client, self.endpoint.clone(), request)
    }
}

type Member = PendingRequests<InstanceService, CompleteOnResponse>;

/// Keeps the balancer's set equal to the ready instances.
struct Watcher {
    peer: String,
    base: reqwest::Url,
    discovery: Discovery,
    breaker: BreakerConfig,
    client: reqwest::Client,
    ready: Arc<RwLock<Vec<Arc<Endpoint>>>>,
    tx: mpsc::UnboundedSender<Result<Change<String, Member>, Infallible>>,
    /// Every instance discovered, by URL (its breaker survives leaving the ready set).
    known: BTreeMap<String, Arc<Endpoint>>,
    /// What the balancer holds now.
    listed: Vec<String>,
}

impl Watcher {
    async fn run(mut self) {
        let mut tick = tokio::time::interval(REFRESH);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // The client (and with it the balancer) is gone: nothing to watch for.
            if self.tx.is_closed() {
                return;
            }
            let urls = self.discover().await;
            self.known.retain(|url, _| urls.contains(url));
            for url in &urls {
                if !self.known.contains_key(url)
                    && let Ok(parsed) = reqwest::Url::parse(url)
                {
                    let endpoint = Endpoint {
                        url: parsed,
                        breaker: CircuitBreaker::new(self.peer.clone(), self.breaker),
                    };
                    self.known.insert(url.clone(), Arc::new(endpoint));
                }
            }
            let mut ready: Vec<String> = if self.known.len() > 1 {
                let probes = self.known.keys().map(|url| self.probe(url));
                let answers = futures_util::future::join_all(probes).await;
                self.known
                    .keys()
                    .zip(answers)
                    .filter(|(_, ok)| *ok)
                    .map(|(url, _)| url.clone())
                    .collect()
            } else {
                self.known.keys().cloned().collect()
            };
            if ready.is_empty() {
                ready = self.known.keys().cloned().collect();
            }
            if !self.update(&ready) {
                return;
            }
        }
    }

    /// Hands the balancer what changed; `false` once the balancer is gone.
    fn update(&mut self, ready: &[String]) -> bool {
        for gone in self.listed.iter().filter(|u| !ready.contains(u)) {
            if self.tx.send(Ok(Change::Remove(gone.clone()))).is_err() {
                return false;
            }
        }
        for new in ready.iter().filter(|u| !self.listed.contains(u)) {
            let Some(endpoint) = self.known.get(new) else {
                continue;
            };
            let member = PendingRequests::new(
                InstanceService {
                    endpoint: endpoint.clone(),
                    client: self.client.clone(),
                    wait: None,
                },
                CompleteOnResponse::default(),
            );
            if self
                .tx
                .send(Ok(Change::Insert(new.clone(), member)))
                .is_err()
            {
                return false;
            }
        }
        if self.listed != ready {
            tracing::info!(peer = %self.peer, instances = ?ready, "balancing over the ready instances");
        }
        self.listed = ready.to_vec();
        if let Ok(mut r) = self.ready.write() {
            *r = ready
                .iter()
                .filter_map(|u| self.known.get(u).cloned())
                .collect();
        }
        true
    }

    /// Every instance's base URL, as the discovery source says now.
    async fn discover(&self) -> Vec<String> {
        resolve(&self.discovery, &self.peer, self.base.as_str())
            .await
            .into_iter()
            .filter_map(|i| reqwest::Url::parse(&i.url).ok())
            .map(|u| u.to_string())
            .collect()
    }

    async fn probe(&self, url: &str) -> bool {
        let Ok(probe) = reqwest::Url::parse(url).and_then(|u| u.join("health/ready")) else {
            return false;
        };
        self.client
            .get(probe)
            .timeout(PROBE_TIMEOUT)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}

/// Every instance of `service` (whose one address is `base_url`) as `discovery` finds them
/// now: `(service.instance.id, base URL without a trailing slash)` each. The launcher's
/// endpoints file gives ids; DNS gives the addresses (the id is the IP); with nothing more to
/// go on — a static URL, no file yet, a name that does not resolve — the one URL, under the
/// service's name. The balancer's watcher and the dashboard's scraper both ask this.
pub async fn resolve(discovery: &Discovery, service: &str, base_url: &str) -> Vec<wire::Instance> {
    let base = || {
        vec![wire::Instance {
            id: service.to_owned(),
            url: base_url.trim_end_matches('/').to_owned(),
        }]
    };
    match discovery {
        Discovery::Static => base(),
        Discovery::File(dir) => std::fs::read_to_string(dir.join(wire::file_name(service)))
            .ok()
            .and_then(|t| serde_json::from_str::<Endpoints>(&t).ok())
            .map(|e| e.instances)
            .filter(|found| !found.is_empty())
            .unwrap_or_else(base),
        Discovery::Dns => {
            let Ok(url) = reqwest::Url::parse(base_url) else {
                return base();
            };
            let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
                return base();
            };
            let Ok(addrs) = tokio::net::lookup_host((host, port)).await else {
                return base();
            };
            let mut found: Vec<wire::Instance> = addrs
                .filter_map(|a| {
                    let mut u = url.clone();
                    u.set_ip_host(a.ip()).ok()?;
                    Some(wire::Instance {
                        id: a.ip().to_string(),
                        url: u.as_str().trim_end_matches('/').to_owned(),
                    })
                })
                .collect();
            found.sort();
            found.dedup();
            if found.is_empty() { base() } else { found }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_is_read_from_its_variable() {
        assert_eq!("".parse::<Discovery>(), Ok(Discovery::Static));
        assert_eq!("dns".parse::<Discovery>(), Ok(Discovery::Dns));
        assert_eq!(
            "file:/tmp/e".parse::<Discovery>(),
            Ok(Discovery::File(PathBuf::from("/tmp/e")))
        );
        assert!("file:".parse::<Discovery>().is_err());
        assert!("consul".parse::<Discovery>().is_err());
    }
}
