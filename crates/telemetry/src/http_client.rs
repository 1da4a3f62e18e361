//! The outbound HTTP client every service uses for its downstream calls.
//!
//! A thin wrapper over `reqwest::Client` that, for each call, opens a client span named
//! `{method} {url template}`, injects `traceparent`/`baggage` from that span, and records
//! `http_client_request_duration_seconds{http_request_method, http_route, http_response_status_code,
//! server_address}` (`http_route` is the caller-given URL template, `server_address` the peer
//! service, so the dashboard can draw edges from metrics alone).

use std::time::{Duration, Instant};

use reqwest::{RequestBuilder, Response};
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::http_server::method_label;

pub const CLIENT_DURATION: &str = "http_client_request_duration_seconds";

/// A traced client for one downstream service.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    peer: String,
    base_url: String,
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
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("apiary/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            inner,
            peer: peer.into(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
        })
    }

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

    /// Sends `request` inside a client span. `template` is the path template of the call (e.g.
    /// `/products/{id}`) — used for the span name and the `http_route` label instead of the real
    /// path, which may hold ids.
    pub async fn send(&self, template: &str, request: RequestBuilder) -> reqwest::Result<Response> {
        let mut request = request.build()?;
        let method = method_label(request.method());
        let url = request.url();
        let server_port = url.port_or_known_default();
        let span = tracing::info_span!(
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
        );
        crate::propagation::inject(&span.context(), request.headers_mut());

        let start = Instant::now();
        let result = self.inner.execute(request).instrument(span.clone()).await;
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
                let kind = error_type(err);
                span.record("error.type", kind);
                span.record("otel.status_code", "ERROR");
                labels.push(("error_type", kind.to_owned()));
            }
        }
        metrics::histogram!(CLIENT_DURATION, &labels).record(elapsed);
        result
    }
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
