//! One request of a step: sent with the session's headers (and its own client span when
//! tracing), timed from its intended start, its outcome recorded, a 2xx body handed to the step.

use std::time::Instant;

use http::{HeaderName, HeaderValue, Method, header};
use tracing::Span;
use tracing::field::Empty;

use super::{Session, Shop, StepEnd};
use crate::client::Body;
use crate::profile::Action;
use crate::stats::{ErrorClass, Outcome};

/// One request as a step describes it.
pub(super) struct Call<'a> {
    pub(super) action: Action,
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) body: Option<serde_json::Value>,
    pub(super) idempotency_key: Option<String>,
    /// Non-2xx statuses that are business outcomes for this call, not errors.
    pub(super) expected: &'a [u16],
}

impl Shop {
    /// Sends one call, records it (latency from `intended`), and hands a 2xx body to `accept`;
    /// a body `accept` cannot use is a `malformed_response` error.
    pub(super) async fn call(
        &self,
        s: &Session,
        intended: Instant,
        journey_span: &Span,
        call: Call<'_>,
        accept: impl FnOnce(&[u8]) -> bool,
    ) -> StepEnd {
        let body = match &call.body {
            Some(v) => Body::from(serde_json::to_vec(v).unwrap_or_default()),
            None => Body::default(),
        };
        let mut req = self.client.request(call.method.clone(), &call.path, body);
        req.header(&header::ACCEPT, &JSON)
            .header(&header::USER_AGENT, &AGENT);
        if call.body.is_some() {
            req.header(&header::CONTENT_TYPE, &JSON);
        }
        if let Some(key) = call
            .idempotency_key
            .as_deref()
            .and_then(|k| HeaderValue::from_str(k).ok())
        {
            req.header(&IDEMPOTENCY_KEY, &key);
        }
        req.header(&BAGGAGE, &s.baggage);
        let span = if self.tracing {
            let (method, route) = call.action.route();
            let span = tracing::info_span!(
                parent: journey_span,
                "http.client",
                otel.name = %format_args!("{method} {route}"),
                otel.kind = "client",
                otel.status_code = Empty,
                http.request.method = method,
                url.template = route,
                server.address = %self.client.target().authority,
                load.step = call.action.name(),
                session.id = %s.id,
                http.response.status_code = Empty,
                error.type = Empty,
            );
            // The span's own context: `traceparent` names this request span as the parent of
            // the gateway's server span. Baggage is the session's, set above.
            let mut context = http::HeaderMap::new();
            apiary_telemetry::propagation::inject_span(&span, &mut context);
            req.headers(&context);
            span
        } else {
            Span::none()
        };

        let result = self.client.send(req).await;
        let done = Instant::now();
        let mut latency = done.saturating_duration_since(intended);
        let (outcome, status, service, trace) = match result {
            Ok(reply) => {
                // Sent before its intended time (within TIMER_SLACK): measure from the send.
                if reply.sent < intended {
                    latency = done.saturating_duration_since(reply.sent);
                }
                let status = reply.status;
                let outcome = if (200..300).contains(&status) {
                    if accept(&reply.body) {
                        Outcome::Ok
                    } else {
                        Outcome::Error(ErrorClass::MalformedResponse)
                    }
                } else if call.expected.contains(&status) {
                    Outcome::Rejected(status)
                } else {
                    Outcome::Error(ErrorClass::Status(status))
                };
                span.record("http.response.status_code", i64::from(status));
                (
                    outcome,
                    Some(status),
                    done.saturating_duration_since(reply.sent),
                    reply.traceresponse,
                )
            }
            Err(failure) => (Outcome::Error(failure.into()), None, latency, None),
        };
        if let Outcome::Error(class) = outcome {
            span.record("error.type", class.label());
            span.record("otel.status_code", "ERROR");
        }
        drop(span);
        self.recorder.request(
            call.action,
            latency,
            service,
            outcome,
            status,
            trace.as_ref(),
        );
        match outcome {
            Outcome::Error(_) => StepEnd::Fail(latency),
            _ => StepEnd::Continue(latency),
        }
    }
}

impl Call<'static> {
    pub(super) fn get(action: Action, path: String) -> Self {
        Call {
            action,
            method: Method::GET,
            path,
            body: None,
            idempotency_key: None,
            expected: &[],
        }
    }
}

pub(super) const JSON: HeaderValue = HeaderValue::from_static("application/json");
const AGENT: HeaderValue =
    HeaderValue::from_static(concat!("apiary-load/", env!("CARGO_PKG_VERSION")));
pub(super) const BAGGAGE: HeaderName = HeaderName::from_static("baggage");
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
