//! The messaging metrics every producer and consumer exports on its `/metrics` (Prometheus names
//! after the OpenTelemetry messaging conventions). Queue depth, consumer count and dead-letter
//! depth come from the broker itself (its `rabbitmq_prometheus` endpoint), which the dashboard
//! scrapes beside the services.

#[cfg(feature = "client")]
use metrics::{counter, histogram};
use metrics::{describe_counter, describe_gauge, describe_histogram, gauge};

/// Messages published, by exchange, routing key and outcome (`acked`, `nacked`, `unroutable`,
/// `failed`).
pub const SENT: &str = "messaging_client_sent_messages_total";
/// Deliveries handled, by queue and outcome (`processed`, `duplicate`, `retried`,
/// `dead_lettered`, `crashed`).
pub const CONSUMED: &str = "messaging_client_consumed_messages_total";
/// Time the handler took, by queue.
pub const PROCESS_DURATION: &str = "messaging_process_duration_seconds";
/// From the producer's publish to the end of processing, by queue: how far behind a consumer is.
pub const PUBLISH_TO_PROCESS: &str = "messaging_publish_to_process_seconds";
/// Events decided but not yet confirmed by the broker (a producer's outbox), by producer.
pub const OUTBOX_BACKLOG: &str = "messaging_outbox_backlog";
/// Age of the oldest unsent outbox row, seconds (0 when empty).
pub const OUTBOX_OLDEST_AGE: &str = "messaging_outbox_oldest_age_seconds";

/// Describes the metrics (once, at bind).
pub fn describe() {
    describe_counter!(
        SENT,
        "Messages published to the broker, by outcome of the publisher confirm."
    );
    describe_counter!(CONSUMED, "Deliveries handled by this consumer, by outcome.");
    describe_histogram!(
        PROCESS_DURATION,
        metrics::Unit::Seconds,
        "Time spent handling one delivery."
    );
    describe_histogram!(
        PUBLISH_TO_PROCESS,
        metrics::Unit::Seconds,
        "From the producer's publish to the end of processing (consumer lag in time)."
    );
    describe_gauge!(
        OUTBOX_BACKLOG,
        "Outbox rows not yet confirmed by the broker."
    );
    describe_gauge!(
        OUTBOX_OLDEST_AGE,
        metrics::Unit::Seconds,
        "Age of the oldest unsent outbox row."
    );
}

#[cfg(feature = "client")]
pub(crate) fn sent(exchange: &str, routing_key: &str, outcome: &'static str) {
    counter!(SENT, "destination" => exchange.to_owned(), "routing_key" => routing_key.to_owned(), "outcome" => outcome)
        .increment(1);
}

#[cfg(feature = "client")]
pub(crate) fn consumed(queue: &'static str, outcome: &'static str) {
    counter!(CONSUMED, "queue" => queue, "outcome" => outcome).increment(1);
}

#[cfg(feature = "client")]
pub(crate) fn processed(queue: &'static str, took_s: f64, lag_s: Option<f64>) {
    histogram!(PROCESS_DURATION, "queue" => queue).record(took_s);
    if let Some(lag) = lag_s {
        histogram!(PUBLISH_TO_PROCESS, "queue" => queue).record(lag.max(0.0));
    }
}

/// Sets a producer's outbox gauges.
pub fn outbox(producer: &'static str, backlog: u64, oldest_age_s: f64) {
    #[allow(clippy::cast_precision_loss)] // a backlog below 2^52 rows
    gauge!(OUTBOX_BACKLOG, "producer" => producer).set(backlog as f64);
    gauge!(OUTBOX_OLDEST_AGE, "producer" => producer).set(oldest_age_s);
}
