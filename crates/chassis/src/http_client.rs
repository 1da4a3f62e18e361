//! The outbound HTTP client every service uses for its downstream calls.
//!
//! A thin wrapper over `reqwest::Client` that, for each call, opens a client span named
//! `{method} {url template}`, injects `traceparent`/`baggage` from that span, and records
//! `http_client_request_duration_seconds{http_request_method, http_route, http_response_status_code,
//! server_address}` (`http_route` is the caller-given URL template, `server_address` the peer
//! service, so the dashboard can draw edges from metrics alone).

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{RequestBuilder, Response};
use tower::retry::budget::{Budget, TpsBudget};
use tracing::Instrument;
use tracing::field::Empty;

use crate::balance::{Balancer, Discovery};
use crate::resilience::{self, BreakerConfig, CircuitBreaker};
use apiary_telemetry::semconv::{CLIENT_DURATION, method_label};

/// Retries of one idempotent call, at most (each also needs the retry budget).
const MAX_RETRIES: u32 = 2;

/// Why a call produced no response.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{}", error_type(.0))]
    Transport(#[from] reqwest::Error),
    #[error("the request's deadline passed before the call")]
    DeadlineExceeded,
    #[error("circuit open: {0} is failing, not calling it")]
    CircuitOpen(String),
    /// A fault made the peer unreachable or partitioned (the call behaved as a real one would).
    #[error("{}", .0.message())]
    Injected(InjectedLink),
    /// The balancer had no instance to send it to.
    #[error("no instance of {0} could take the call")]
    NoInstance(String),
}

/// The network faults a caller can be under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedLink {
    /// Refused at once.
    Unreachable,
    /// No answer until the call's timeout.
    Partitioned,
}

impl InjectedLink {
    fn message(self) -> &'static str {
        match self {
            InjectedLink::Unreachable => "connection refused (injected fault: unreachable)",
            InjectedLink::Partitioned => "timed out (injected fault: network partition)",
        }
    }

    /// The fault's name as spans carry it.
    pub fn fault(self) -> &'static str {
        match self {
            InjectedLink::Unreachable => "unreachable",
            InjectedLink::Partitioned => "partition",
        }
    }
}

impl CallError {
    /// Ran out of time (the call's own timeout or the request's deadline).
    pub fn is_timeout(&self) -> bool {
        match self {
            CallError::Transport(e) => e.is_timeout(),
            CallError::DeadlineExceeded => true,
            CallError::CircuitOpen(_) | CallError::NoInstance(_) => false,
            CallError::Injected(link) => *link == InjectedLink::Partitioned,
        }
    }

    /// The downstream is not reachable (refused, or known to be failing).
    pub fn is_unavailable(&self) -> bool {
        match self {
            CallError::Transport(e) => e.is_connect(),
            CallError::DeadlineExceeded => false,
            CallError::CircuitOpen(_) | CallError::NoInstance(_) => true,
            CallError::Injected(link) => *link == InjectedLink::Unreachable,
        }
    }

    /// A low-cardinality `error.type`.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Transport(e) => error_type(e),
            CallError::DeadlineExceeded => "deadline_exceeded",
            CallError::CircuitOpen(_) => "circuit_open",
            CallError::NoInstance(_) => "no_instance",
            CallError::Injected(InjectedLink::Unreachable) => "connection_refused",
            CallError::Injected(InjectedLink::Partitioned) => "timeout",
        }
    }
}

/// A traced client for one downstream service.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    peer: String,
    base_url: String,
    /// Upper bound of one call; the request's remaining deadline may make it shorter.
    timeout: Duration,
    breaker: Arc<CircuitBreaker>,
    budget: Arc<TpsBudget>,
    /// The downstream's instances and the balancer over them.
    balancer: Arc<Balancer>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("peer", &self.peer)
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl HttpClient {
    /// `peer` is the downstream's service name (e.g. `catalog`), `base_url` its root URL.
    /// `timeout` bounds every call end to end.
    pub fn new(
        peer: impl Into<String>,
        base_url: impl Into<String>,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let inner = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("apiary/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let peer = peer.into();
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        let balancer = Arc::new(Balancer::new(
            &peer,
            base_of(&base_url),
            Discovery::Static,
            BreakerConfig::default(),
            inner.clone(),
        ));
        Ok(Self {
            inner,
            breaker: Arc::new(CircuitBreaker::new(peer.clone(), BreakerConfig::default())),
            balancer,
            // Retries may add at most 20% to recent traffic (10 s window), plus 10 a second.
            budget: Arc::new(TpsBudget::new(Duration::from_secs(10), 10, 0.2)),
            peer,
            base_url,
            timeout,
        })
    }

    /// Replaces the circuit breakers' settings (tests use short cool-downs).
    pub fn with_breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = Arc::new(CircuitBreaker::new(self.peer.clone(), config));
        let discovery = self.balancer.discovery().clone();
        self.rebalanced(discovery, config)
    }

    /// Finds the downstream's instances with `discovery` and balances calls over them.
    pub fn with_discovery(self, discovery: Discovery) -> Self {
        let breakers = self.balancer.breaker_config();
        self.rebalanced(discovery, breakers)
    }

    fn rebalanced(mut self, discovery: Discovery, breakers: BreakerConfig) -> Self {
        self.balancer = Arc::new(Balancer::new(
            &self.peer,
            base_of(&self.base_url),
            discovery,
            breakers,
            self.inner.clone(),
        ));
        self
    }

    /// The instances calls are balanced over now (their base URLs).
    pub fn instances(&self) -> Vec<String> {
        self.balancer.ready_urls()
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// The downstream's service name.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Starts a request to `path` (joined to the base URL). Send it with [`HttpClient::send`].
    pub fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.inner
            .request(method, format!("{}{}", self.base_url, path))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(reqwest::Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(reqwest::Method::POST, path)
    }

    pub fn put(&self, path: &str) -> RequestBuilder {
        self.request(reqwest::Method::PUT, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(reqwest::Method::DELETE, path)
    }

    /// Sends `request` once, inside a client span. `template` is the path template of the call
    /// (e.g. `/products/{id}`) — used for the span name and the `http_route` label instead of
    /// the real path, which may hold ids.
    pub async fn send(
        &self,
        template: &str,
        request: RequestBuilder,
    ) -> Result<Response, CallError> {
        self.budget.deposit();
        let storm = crate::faults::retry_storm(&self.peer).await;
        if storm == 0 {
            return self.attempt(template, request).await;
        }
        self.storm(template, request, storm).await
    }

    /// Sends a health probe once: timed in the client histogram under its own route like any
    /// call, but without a client span — a readiness check polled several times a second would
    /// otherwise be most of the traces the dashboard lists (the callee's server side does not
    /// trace `/health/*` either).
    pub async fn probe(
        &self,
        template: &str,
        request: RequestBuilder,
    ) -> Result<Response, CallError> {
        self.attempt_as(template, request, Traced::No).await
    }

    /// A retry-storm fault: every failed call is repeated at once, `extra` times, with no
    /// budget and no pause — the misconfigured client that amplifies an incident.
    async fn storm(
        &self,
        template: &str,
        mut request: RequestBuilder,
        extra: u32,
    ) -> Result<Response, CallError> {
        let mut left = extra;
        loop {
            let next = request.try_clone();
            let result = self.attempt(template, request).await;
            let failed = match &result {
                Ok(resp) => resp.status().is_server_error(),
                Err(_) => true,
            };
            match next {
                Some(again) if failed && left > 0 => {
                    left -= 1;
                    metrics::counter!("apiary_http_client_retries_total", "server_address" => self.peer.clone()).increment(1);
                    request = again;
                }
                _ => return result,
            }
        }
    }

    /// As [`HttpClient::send`], for calls that are safe to repeat: retries connection failures,
    /// timeouts and 502/503/504 up to twice, while the retry budget and the deadline allow.
    pub async fn send_idempotent(
        &self,
        template: &str,
        mut request: RequestBuilder,
    ) -> Result<Response, CallError> {
        self.budget.deposit();
        let storm = crate::faults::retry_storm(&self.peer).await;
        if storm > 0 {
            return self.storm(template, request, storm).await;
        }
        let mut retries = 0;
        loop {
            let next = request.try_clone();
            let result = self.attempt(template, request).await;
            let retryable = match &result {
                Ok(resp) => matches!(resp.status().as_u16(), 502..=504),
                Err(CallError::Transport(e)) => e.is_connect() || e.is_timeout(),
                Err(CallError::Injected(_)) => true,
                Err(_) => false,
            };
            let Some(again) = next.filter(|_| retryable && retries < MAX_RETRIES) else {
                return result;
            };
            if !self.budget.withdraw() {
                metrics::counter!("apiary_http_client_retries_refused_total", "server_address" => self.peer.clone()).increment(1);
                return result;
            }
            retries += 1;
            metrics::counter!("apiary_http_client_retries_total", "server_address" => self.peer.clone()).increment(1);
            let pause = Duration::from_millis(25 << retries);
            if resilience::remaining().is_some_and(|left| left <= pause) {
                return result;
            }
            tokio::time::sleep(pause).await;
            request = again;
        }
    }

    async fn attempt(
        &self,
        template: &str,
        request: RequestBuilder,
    ) -> Result<Response, CallError> {
        self.attempt_as(template, request, Traced::Yes).await
    }

    async fn attempt_as(
        &self,
        template: &str,
        request: RequestBuilder,
        traced: Traced,
    ) -> Result<Response, CallError> {
        let timeout = match resilience::remaining() {
            Some(left) if left.is_zero() => {
                return Err(self.refused(template, CallError::DeadlineExceeded));
            }
            Some(left) => left.min(self.timeout),
            None => self.timeout,
        };
        if !self.breaker.allow() {
            return Err(self.refused(template, CallError::CircuitOpen(self.peer.clone())));
        }
        let mut request = request.timeout(timeout).build()?;
        // The callee's deadline ends before this call's timeout, so its answer can arrive.
        let granted = timeout.saturating_sub(resilience::answer_margin(timeout));
        if let Ok(v) = http::HeaderValue::from_str(&granted.as_millis().to_string()) {
            request.headers_mut().insert(resilience::DEADLINE_HEADER, v);
        }
        let method = method_label(request.method());
        let url = request.url();
        let server_port = url.port_or_known_default();
        let span = if traced == Traced::No {
            tracing::Span::none()
        } else {
            tracing::info_span!(
                "http.client",
                otel.name = %format_args!("{method} {template}"),
                otel.kind = "client",
                otel.status_code = Empty,
                http.request.method = method,
                url.template = template,
                server.address = url.host_str(),
                server.port = server_port.map(i64::from),
                peer.service = %self.peer,
                http.response.status_code = Empty,
                error.type = Empty,
                apiary.fault = Empty,
            )
        };
        apiary_telemetry::propagation::inject_span(&span, request.headers_mut());

        let start = Instant::now();
        let result = match crate::faults::link(&self.peer).await {
            crate::faults::Link::Ok if self.balancer.discovers() => {
                self.balancer
                    .execute(request)
                    .instrument(span.clone())
                    .await
            }
            crate::faults::Link::Ok => self
                .inner
                .execute(request)
                .instrument(span.clone())
                .await
                .map_err(CallError::from),
            crate::faults::Link::Unreachable => Err(CallError::Injected(InjectedLink::Unreachable)),
            crate::faults::Link::Partitioned => {
                // Packets dropped: nothing comes back before the caller gives up.
                tokio::time::sleep(timeout).await;
                Err(CallError::Injected(InjectedLink::Partitioned))
            }
        };
        let elapsed = start.elapsed().as_secs_f64();

        let mut labels = vec![
            ("http_request_method", method.to_owned()),
            ("http_route", template.to_owned()),
            ("server_address", self.peer.clone()),
        ];
        match &result {
            Ok(response) => {
                let status = response.status();
                span.record("http.response.status_code", i64::from(status.as_u16()));
                labels.push(("http_response_status_code", status.as_str().to_owned()));
                if status.is_client_error() || status.is_server_error() {
                    span.record("error.type", status.as_str());
                    span.record("otel.status_code", "ERROR");
                    labels.push(("error_type", status.as_str().to_owned()));
                }
            }
            Err(err) => {
                let kind = err.kind();
                if let CallError::Injected(link) = err {
                    span.record("apiary.fault", link.fault());
                }
                span.record("error.type", kind);
                span.record("otel.status_code", "ERROR");
                labels.push(("error_type", kind.to_owned()));
            }
        }
        metrics::histogram!(CLIENT_DURATION, &labels).record(elapsed);
        self.breaker
            .record(result.as_ref().is_ok_and(|r| !r.status().is_server_error()));
        result
    }

    /// Counts a call that was not made.
    fn refused(&self, template: &str, err: CallError) -> CallError {
        metrics::counter!(
            "apiary_http_client_refused_total",
            "server_address" => self.peer.clone(),
            "http_route" => template.to_owned(),
            "error_type" => err.kind()
        )
        .increment(1);
        err
    }
}

/// Whether a call gets a client span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Traced {
    Yes,
    No,
}

/// The base URL as a URL (one that does not parse is kept as `http://invalid`: its calls fail
/// like any unreachable peer's).
fn base_of(base_url: &str) -> reqwest::Url {
    reqwest::Url::parse(base_url)
        .or_else(|_| reqwest::Url::parse("http://invalid"))
        .expect("a constant URL parses")
}

/// A low-cardinality `error.type` for a failed call that got no response.
pub fn error_type(err: &reqwest::Error) -> &'static str {
    if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connection_refused"
    } else if err.is_decode() || err.is_body() {
        "malformed_response"
    } else {
        "transport"
    }
}
