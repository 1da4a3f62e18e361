//! Server-side HTTP instrumentation as a tower layer.
//!
//! For every request except `/metrics` and `/health/*` (scrapes and probes would drown the
//! signal) it:
//! 1. extracts the W3C `traceparent`/`baggage` headers as the remote parent;
//! 2. opens a server span named `{method} {route}` (the route *template* from axum's
//!    [`MatchedPath`], never the raw path, so names and labels stay low-cardinality) carrying the
//!    stable HTTP semantic-convention attributes;
//! 3. records `http_server_request_duration_seconds{http_request_method, http_route,
//!    http_response_status_code}`, plus `error_type` for 5xx.
//!
//! 4. adds the W3C Trace Context level 2 `traceresponse` header to the answer.
//!
//! It only observes: load shedding and deadlines are the service chassis's layers.
//!
//! Add it with `Router::layer` so that `MatchedPath` is already known when it runs.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::Request;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub use crate::semconv::{SERVER_DURATION, is_operational_path, method_label};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpServerLayer;

impl<S> Layer<S> for HttpServerLayer {
    type Service = HttpServer<S>;
    fn layer(&self, inner: S) -> Self::Service {
        HttpServer { inner }
    }
}

#[derive(Debug, Clone)]
pub struct HttpServer<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, ReqBody> Service<Request<ReqBody>> for HttpServer<S>
where
    S: Service<Request<ReqBody>, Response = axum::response::Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The clone that was driven to readiness serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);

        if is_operational_path(req.uri().path()) {
            return Box::pin(inner.call(req));
        }
        let method = method_label(req.method());
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_owned());
        let name = match &route {
            Some(route) => format!("{method} {route}"),
            None => method.to_owned(),
        };
        let span = tracing::info_span!(
            "http.server",
            otel.name = %name,
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = method,
            http.route = route.as_deref(),
            url.path = req.uri().path(),
            url.scheme = "http",
            network.protocol.version = ?req.version(),
            user_agent.original = req
                .headers()
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok()),
            http.response.status_code = Empty,
            error.type = Empty,
            apiary.fault = Empty,
            apiary.deployed_version = Empty,
        );
        // Fails only when no OpenTelemetry layer is installed (OTEL_SDK_DISABLED): then the span
        // is a plain tracing span and there is nothing to parent.
        let _ = span.set_parent(crate::propagation::extract(req.headers()));

        let start = Instant::now();
        Box::pin(
            async move {
                let mut result = inner.call(req).await;
                let elapsed = start.elapsed().as_secs_f64();
                let span = tracing::Span::current();
                if let Ok(response) = &mut result {
                    // W3C Trace Context level 2 `traceresponse`: callers (the load generator, a
                    // person with curl, tests) learn which trace their request became.
                    if let Some(value) = traceresponse(&span) {
                        response.headers_mut().insert(TRACERESPONSE, value);
                    }
                }
                if let Ok(response) = &result {
                    let status = response.status();
                    span.record("http.response.status_code", i64::from(status.as_u16()));
                    let code = status.as_str().to_owned();
                    let mut labels = vec![
                        ("http_request_method", method.to_owned()),
                        ("http_response_status_code", code.clone()),
                    ];
                    if let Some(route) = route {
                        labels.push(("http_route", route));
                    }
                    if status.is_server_error() {
                        span.record("error.type", code.as_str());
                        span.record("otel.status_code", "ERROR");
                        labels.push(("error_type", code));
                    }
                    metrics::histogram!(SERVER_DURATION, &labels).record(elapsed);
                }
                result
            }
            .instrument(span),
        )
    }
}

/// The `traceresponse` response header (W3C Trace Context level 2).
pub const TRACERESPONSE: &str = "traceresponse";

fn traceresponse(span: &tracing::Span) -> Option<http::HeaderValue> {
    use opentelemetry::trace::TraceContextExt as _;
    let context = span.context();
    let otel_span = context.span();
    let sc = otel_span.span_context();
    if !sc.is_valid() {
        return None;
    }
    let value = format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    );
    http::HeaderValue::from_str(&value).ok()
}
