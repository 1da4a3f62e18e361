//! Apiary's asynchronous half: domain events over AMQP 0.9.1 (RabbitMQ, through `lapin`).
//!
//! - [`topology`]: the one definition of the exchange, every consumer's durable queue, its
//!   binding and its dead-letter queue. Producers and consumers both declare it (declaring is
//!   idempotent), so an event is never published before the queues that must receive it exist.
//! - [`Broker`]: the link to the broker — connects with backoff, re-declares the topology on
//!   every connection, and keeps its state for the readiness check named `broker` (reported,
//!   never required: HTTP readiness does not wait for the broker).
//! - [`publish::Publisher`]: publishes with publisher confirms and `mandatory`, so `Ok` means the
//!   broker has taken responsibility for the message *and* routed it to a queue. The outbox relay
//!   marks a row sent only after that.
//! - [`consume`]: a consumer loop with prefetch and bounded concurrency that opens a `process`
//!   span linked to the producer's `send` span, runs the service's handler (which makes its
//!   effect idempotent with an inbox table), acks only after the handler's commit, retries
//!   transient failures a bounded number of times, and dead-letters poison messages with the
//!   reason in a header. Nothing is dropped silently.
//!
//! Delivery is at-least-once (a message is acked after the effect commits, so a crash in between
//! redelivers it); effects are exactly-once because each consumer records the message id in the
//! same transaction as its effect.

//!
//! Without the default `client` feature the crate is [`topology`] and [`metrics`] only: what
//! readers of the broker's and the services' metrics need (the dashboard), without `lapin`.

#[cfg(feature = "client")]
pub mod consume;
#[cfg(feature = "client")]
pub mod headers;
#[cfg(feature = "client")]
mod link;
pub mod metrics;
#[cfg(feature = "client")]
pub mod publish;
pub mod topology;

#[cfg(feature = "client")]
pub use consume::{Effect, HandlerError, Incoming, Subscription};
/// The AMQP client, for callers that name its errors or open their own channels.
#[cfg(feature = "client")]
pub use lapin;
#[cfg(feature = "client")]
pub use link::{Broker, BrokerConfig, BrokerDown, LinkState};
#[cfg(feature = "client")]
pub use publish::{Outgoing, PublishError, Publisher};

/// Milliseconds since the Unix epoch (message timestamps).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
