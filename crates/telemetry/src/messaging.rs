//! Trace context across a message broker, following the OpenTelemetry messaging semantic
//! conventions (`send` producer spans, `process` consumer spans linked to the producer).
//!
//! The context travels as a text map — W3C `traceparent`/`tracestate` and `baggage` — that the
//! messaging crate writes into AMQP message headers. It is captured when the event is *decided*
//! (inside the request that placed the order, stored with the outbox row), so the `send` span
//! the relay emits later still belongs to the checkout's trace even though it runs seconds after
//! the request (or after a broker outage) in a background task.
//!
//! The consumer's `process` span starts a trace of its own and carries a span link to the
//! producer's `send` span, as the conventions recommend for asynchronous processing: a message
//! can be processed long after, or more than once, and the consumer's work is its own unit.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::propagation::PROPAGATOR;

/// Trace headers as carried by a message (or stored beside an outbox row).
pub type Carrier = HashMap<String, String>;

/// The trace context of the current span, as a text map (empty when there is no valid span).
pub fn capture() -> Carrier {
    carrier_of(&Span::current())
}

/// The trace context of `span`, as a text map.
pub fn carrier_of(span: &Span) -> Carrier {
    let mut carrier = Carrier::new();
    PROPAGATOR.inject_context(&span.context(), &mut carrier);
    carrier
}

/// What a message span describes: the exchange, the routing key and the message id.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// `messaging.destination.name`: the exchange.
    pub destination: &'a str,
    /// `messaging.rabbitmq.destination.routing_key`.
    pub routing_key: &'a str,
    /// `messaging.message.id`.
    pub message_id: &'a str,
}

/// A producer span, `send {exchange}`, child of the context `decided_in` carries (the request
/// that wrote the outbox row); a fresh root when it carries none.
pub fn send_span(message: Message<'_>, decided_in: &Carrier) -> Span {
    let span = tracing::info_span!(
        parent: None,
        "send",
        otel.name = %format_args!("send {}", message.destination),
        otel.kind = "producer",
        otel.status_code = Empty,
        messaging.system = "rabbitmq",
        messaging.operation.type = "send",
        messaging.operation.name = "publish",
        messaging.destination.name = message.destination,
        messaging.rabbitmq.destination.routing_key = message.routing_key,
        messaging.message.id = message.message_id,
        messaging.message.body.size = Empty,
    );
    let parent = PROPAGATOR.extract(decided_in);
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    span
}

/// A consumer span, `process {exchange}`, the root of a trace of its own with a link to the
/// producer span whose context `headers` carry (none when they carry no valid context, e.g. a
/// message from a producer that does not trace).
pub fn process_span(message: Message<'_>, consumer_group: &str, headers: &Carrier) -> Span {
    let span = tracing::info_span!(
        parent: None,
        "process",
        otel.name = %format_args!("process {}", message.destination),
        otel.kind = "consumer",
        otel.status_code = Empty,
        messaging.system = "rabbitmq",
        messaging.operation.type = "process",
        messaging.operation.name = "deliver",
        messaging.destination.name = message.destination,
        messaging.rabbitmq.destination.routing_key = message.routing_key,
        messaging.message.id = message.message_id,
        messaging.consumer.group.name = consumer_group,
        messaging.destination.subscription.name = consumer_group,
        messaging.message.delivery_attempt = Empty,
        error.type = Empty,
        apiary.fault = Empty,
    );
    let producer = PROPAGATOR.extract(headers);
    let producer_span = producer.span();
    let linked = producer_span.span_context();
    if linked.is_valid() {
        span.add_link(linked.clone());
    }
    span
}

/// Marks a message span failed with `error_type` (`error.type`, status `ERROR`).
pub fn record_failure(span: &Span, error_type: &str) {
    span.record("otel.status_code", "ERROR");
    span.record("error.type", error_type);
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    use tracing_subscriber::layer::SubscriberExt as _;

    const MESSAGE: Message<'static> = Message {
        destination: "shop.events",
        routing_key: "order.placed",
        message_id: "m-1",
    };

    fn traced() -> (
        tracing::subscriber::DefaultGuard,
        SdkTracerProvider,
        InMemorySpanExporter,
    ) {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        (
            tracing::subscriber::set_default(subscriber),
            provider,
            exporter,
        )
    }

    fn traceparent(carrier: &Carrier) -> String {
        carrier.get("traceparent").cloned().unwrap_or_default()
    }

    #[test]
    fn send_continues_the_deciding_trace_and_process_links_back_to_send() {
        let (_guard, provider, exporter) = traced();
        let decided: Carrier = [(
            "traceparent".to_owned(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
        )]
        .into();
        let send = send_span(MESSAGE, &decided);
        let headers = carrier_of(&send);
        let sent = traceparent(&headers);
        assert!(
            sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{sent}"
        );
        assert!(
            !sent.contains("00f067aa0ba902b7"),
            "send is a child of the deciding span: {sent}"
        );
        drop(send);

        let process = process_span(MESSAGE, "notifications", &headers);
        let own = traceparent(&carrier_of(&process));
        assert!(
            !own.contains("4bf92f3577b34da6a3ce929d0e0e4736"),
            "process starts its own trace: {own}"
        );
        drop(process);
        let _ = provider.force_flush();

        let spans = exporter.get_finished_spans().unwrap_or_default();
        let send = spans.iter().find(|s| s.name == "send shop.events");
        let process = spans.iter().find(|s| s.name == "process shop.events");
        let (Some(send), Some(process)) = (send, process) else {
            panic!("both spans exported: {spans:?}");
        };
        assert_eq!(send.span_kind, opentelemetry::trace::SpanKind::Producer);
        assert_eq!(process.span_kind, opentelemetry::trace::SpanKind::Consumer);
        let linked: Vec<_> = process
            .links
            .iter()
            .map(|l| l.span_context.span_id())
            .collect();
        assert_eq!(linked, vec![send.span_context.span_id()]);
    }

    #[test]
    fn without_a_carried_context_send_is_a_root_and_process_has_no_link() {
        let (_guard, provider, exporter) = traced();
        let send = send_span(MESSAGE, &Carrier::new());
        assert!(carrier_of(&send).contains_key("traceparent"));
        drop(send);
        drop(process_span(MESSAGE, "shipping", &Carrier::new()));
        let _ = provider.force_flush();
        let spans = exporter.get_finished_spans().unwrap_or_default();
        let process = spans.iter().find(|s| s.name == "process shop.events");
        assert!(process.is_some_and(|p| p.links.is_empty()), "{spans:?}");
    }
}
