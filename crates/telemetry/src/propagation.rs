//! W3C `traceparent`/`tracestate` and `baggage` on HTTP headers.
//!
//! A fixed composite propagator is used instead of the OpenTelemetry global one, so that
//! propagation does not depend on whether (or in which order) something installed a global.

use std::sync::LazyLock;

use http::HeaderMap;
use opentelemetry::Context;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

pub(crate) static PROPAGATOR: LazyLock<TextMapCompositePropagator> = LazyLock::new(|| {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
});

/// The remote parent (and baggage) carried by inbound headers; an empty context when absent or
/// malformed, so a bad header starts a new trace instead of failing the request.
pub fn extract(headers: &HeaderMap) -> Context {
    PROPAGATOR.extract(&HeaderExtractor(headers))
}

/// Writes `cx`'s span context and baggage into outbound headers.
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    PROPAGATOR.inject_context(cx, &mut HeaderInjector(headers));
}

/// Writes the trace context of a `tracing` span (and the baggage it carries) into outbound
/// headers: for clients that do not go through [`crate::HttpClient`] (the load generator's own
/// HTTP engine), so they need no OpenTelemetry crate of their own.
pub fn inject_span(span: &tracing::Span, headers: &mut HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    inject(&span.context(), headers);
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::TraceContextExt;

    #[test]
    fn a_traceparent_and_baggage_round_trip() {
        let mut inbound = HeaderMap::new();
        inbound.insert(
            "traceparent",
            http::HeaderValue::from_static(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        );
        inbound.insert(
            "baggage",
            http::HeaderValue::from_static("synthetic_request=true"),
        );
        let cx = extract(&inbound);
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(
            cx.baggage().get("synthetic_request").map(|v| v.to_string()),
            Some("true".to_owned())
        );

        let mut outbound = HeaderMap::new();
        inject(&cx, &mut outbound);
        let tp = outbound
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{tp}"
        );
        assert!(outbound.get("baggage").is_some());
    }

    #[test]
    fn a_malformed_traceparent_yields_no_parent() {
        let mut inbound = HeaderMap::new();
        inbound.insert("traceparent", http::HeaderValue::from_static("garbage"));
        assert!(!extract(&inbound).span().span_context().is_valid());
    }
}
