//! The consumer loop: prefetch-bounded, concurrent, traced, idempotent by the handler's inbox,
//! acking only after the handler's commit, retrying transient failures a bounded number of
//! times and dead-lettering what cannot be processed — with the reason.
//!
//! # Settings (see [`Subscription`])
//! - `prefetch` (default 16): unacknowledged deliveries the broker sends ahead. It bounds memory
//!   and how many messages a crashed consumer hands back for redelivery.
//! - `concurrency` (default 4): deliveries handled at once. SQLite handlers serialise on their
//!   one writer anyway; 4 overlaps the network and span work with the commits.
//! - `max_attempts` (default 5): a delivery whose handler fails transiently is republished to
//!   the back of its queue with `x-apiary-attempt` + 1 (after a short pause growing with the
//!   attempt), then dead-lettered once the attempts are spent.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apiary_telemetry::messaging::{self, Message};
use futures_util::StreamExt as _;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use tracing::Instrument as _;

use crate::publish::{PublishError, Publisher};
use crate::topology::{self, Queue};
use crate::{Broker, headers, metrics};

/// What a consumer reads and how.
#[derive(Debug, Clone, Copy)]
pub struct Subscription {
    pub queue: &'static Queue,
    pub prefetch: u16,
    pub concurrency: usize,
    pub max_attempts: u32,
}

impl Subscription {
    /// The documented defaults (prefetch 16, concurrency 4, 5 attempts).
    pub fn new(queue: &'static Queue) -> Self {
        Self {
            queue,
            prefetch: 16,
            concurrency: 4,
            max_attempts: 5,
        }
    }
}

/// One delivery, as the handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub message_id: String,
    pub routing_key: String,
    pub payload: Vec<u8>,
    /// 1 on the first delivery of the original publish; a retry republish counts up.
    pub attempt: u32,
    /// The broker redelivered it (a consumer died or nacked before acking).
    pub redelivered: bool,
    /// When the producer published it (Unix ms), if it said.
    pub sent_at_ms: Option<i64>,
}

impl Incoming {
    /// The body as JSON `T`; a body that is not is poison (it will never parse).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, HandlerError> {
        serde_json::from_slice(&self.payload).map_err(|e| {
            HandlerError::Poison(format!("the body is not a valid {}: {e}", self.routing_key))
        })
    }
}

/// What handling did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The effect was committed now.
    Applied,
    /// The inbox already had this message id: nothing done (a redelivery or a duplicate).
    Duplicate,
}

/// Why a handler did not process a delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// It can never be processed (malformed, unknown schema): dead-letter it now.
    #[error("poison message: {0}")]
    Poison(String),
    /// It may succeed later (its store is busy, a fault): retry, up to the attempts.
    #[error("transient failure: {0}")]
    Retry(String),
    /// The consumer gives up on this delivery *and* its channel (the `consumer-crash` fault, or
    /// a handler that found its process unusable): the delivery is nacked back to the queue and
    /// the consumer restarts, as a crashed process would.
    #[error("consumer crashed: {0}")]
    Crash(String),
}

/// Why a consumer session ended (it reconnects after a backoff).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Amqp(#[from] lapin::Error),
    /// The handler crashed the consumer ([`HandlerError::Crash`]).
    #[error("consumer crashed: {0}")]
    Crashed(String),
    /// A retry or dead letter was not confirmed: the original goes back to the queue.
    #[error("could not move a delivery on: {0}")]
    Republish(#[from] PublishError),
}

/// Consumes `subscription` on `broker` with `handler`, forever, reconnecting after failures.
pub async fn run<H, Fut>(broker: Broker, subscription: Subscription, handler: H)
where
    H: Fn(Incoming) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Effect, HandlerError>> + Send,
{
    let handler = Arc::new(handler);
    broker
        .supervise(subscription.queue.consumer, move |connection| {
            let handler = handler.clone();
            async move { session(&connection, subscription, handler).await }
        })
        .await;
}

/// One connection's worth of consuming; returns when the channel or connection fails.
async fn session<H, Fut>(
    connection: &Connection,
    subscription: Subscription,
    handler: Arc<H>,
) -> Result<(), SessionError>
where
    H: Fn(Incoming) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Effect, HandlerError>> + Send,
{
    let queue = subscription.queue;
    let channel = connection.create_channel().await?;
    channel
        .basic_qos(subscription.prefetch, BasicQosOptions::default())
        .await?;
    // Retries and dead letters are published on their own confirm channel.
    let side = Publisher::open(connection, queue.consumer).await?;
    let consumer = channel
        .basic_consume(
            queue.name.into(),
            format!("{}-{}", queue.consumer, std::process::id()).into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let failures = consumer
        .map(|delivery| {
            let handler = handler.clone();
            let side = side.clone();
            async move {
                let delivery = delivery.map_err(SessionError::from)?;
                handle(delivery, subscription, &side, handler.as_ref()).await
            }
        })
        .buffer_unordered(subscription.concurrency.max(1))
        .filter_map(|r| async move { r.err() });
    let outcome = std::pin::pin!(failures).next().await;
    close(&channel).await;
    match outcome {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn close(channel: &Channel) {
    let _ = channel.close(200, "consumer restarting".into()).await;
}

/// Handles one delivery end to end; `Err` ends the session (the delivery is then redelivered).
async fn handle<H, Fut>(
    delivery: Delivery,
    subscription: Subscription,
    side: &Publisher,
    handler: &H,
) -> Result<(), SessionError>
where
    H: Fn(Incoming) -> Fut,
    Fut: Future<Output = Result<Effect, HandlerError>>,
{
    let queue = subscription.queue;
    let table = delivery.properties.headers().as_ref();
    let carried = headers::carrier(table);
    let attempt = headers::integer(table, headers::ATTEMPT)
        .and_then(|a| u32::try_from(a).ok())
        .unwrap_or(1)
        .max(1);
    let sent_at_ms = headers::integer(table, headers::SENT_AT_MS);
    let message_id = delivery
        .properties
        .message_id()
        .as_ref()
        .map(|id| id.as_str().to_owned())
        .unwrap_or_default();
    let routing_key = delivery.routing_key.as_str().to_owned();
    let span = messaging::process_span(
        Message {
            destination: topology::EXCHANGE,
            routing_key: &routing_key,
            message_id: &message_id,
        },
        queue.consumer,
        &carried,
    );
    span.record("messaging.message.delivery_attempt", attempt);
    let started = Instant::now();
    let faults = apiary_faults::runtime::get();
    if let Some(faults) = faults
        && let Some(delay) = faults.consumer_delay().await
    {
        span.record("apiary.fault", "consumer-slow");
        tokio::time::sleep(delay).await;
    }
    let crashed = match faults {
        Some(faults) => faults.consumer_crashes().await,
        None => false,
    };
    let result = if crashed {
        span.record("apiary.fault", "consumer-crash");
        Err(HandlerError::Crash("the consumer-crash fault".to_owned()))
    } else if message_id.is_empty() {
        Err(HandlerError::Poison(
            "the message has no message id".to_owned(),
        ))
    } else {
        let incoming = Incoming {
            message_id: message_id.clone(),
            routing_key: routing_key.clone(),
            payload: delivery.data.clone(),
            attempt,
            redelivered: delivery.redelivered,
            sent_at_ms,
        };
        handler(incoming).instrument(span.clone()).await
    };
    let took = started.elapsed().as_secs_f64();
    async {
        match result {
            Ok(effect) => {
                let redeliver = match faults {
                    Some(faults) => faults.redeliver().await,
                    None => false,
                };
                if redeliver {
                    // The duplicate-delivery fault: processed, then handed back instead of acked,
                    // so the broker delivers it again and the inbox must absorb it.
                    span.record("apiary.fault", "duplicate-delivery");
                    delivery
                        .acker
                        .nack(BasicNackOptions {
                            requeue: true,
                            ..BasicNackOptions::default()
                        })
                        .await?;
                    metrics::consumed(queue.name, "redelivered");
                    return Ok(());
                }
                delivery.acker.ack(BasicAckOptions::default()).await?;
                let lag = sent_at_ms.map(|sent| ms_to_s(crate::now_ms() - sent));
                metrics::processed(queue.name, took, lag);
                metrics::consumed(
                    queue.name,
                    match effect {
                        Effect::Applied => "processed",
                        Effect::Duplicate => "duplicate",
                    },
                );
                Ok(())
            }
            Err(HandlerError::Crash(why)) => {
                messaging::record_failure(&span, "crash");
                tracing::warn!(queue = queue.name, message_id, error = %why, "consumer crashed on a delivery; it goes back to the queue");
                metrics::consumed(queue.name, "crashed");
                delivery
                    .acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await?;
                Err(SessionError::Crashed(why))
            }
            Err(HandlerError::Retry(why)) if attempt < subscription.max_attempts => {
                messaging::record_failure(&span, "retry");
                tracing::info!(queue = queue.name, message_id, attempt, error = why, "delivery failed; retrying");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                let mut table = delivery.properties.headers().clone().unwrap_or_default();
                headers::insert_integer(&mut table, headers::ATTEMPT, i64::from(attempt) + 1);
                republish(side, "", queue.name, &message_id, &delivery.data, table).await?;
                delivery.acker.ack(BasicAckOptions::default()).await?;
                metrics::consumed(queue.name, "retried");
                Ok(())
            }
            Err(error) => {
                let reason = match error {
                    HandlerError::Retry(why) => {
                        format!("failed {attempt} times, last: {why}")
                    }
                    other => other.to_string(),
                };
                messaging::record_failure(&span, "dead_lettered");
                tracing::warn!(queue = queue.name, message_id, reason, "delivery dead-lettered");
                let mut table = delivery.properties.headers().clone().unwrap_or_default();
                headers::insert_text(&mut table, headers::DEAD_REASON, &reason);
                headers::insert_text(&mut table, headers::DEAD_QUEUE, queue.name);
                headers::insert_integer(&mut table, headers::ATTEMPT, i64::from(attempt));
                republish(
                    side,
                    topology::DEAD_LETTER_EXCHANGE,
                    queue.name,
                    &message_id,
                    &delivery.data,
                    table,
                )
                .await?;
                delivery.acker.ack(BasicAckOptions::default()).await?;
                metrics::consumed(queue.name, "dead_lettered");
                Ok(())
            }
        }
    }
    .instrument(span.clone())
    .await
}

/// Publishes a retry or a dead letter; a refusal ends the session so the original delivery is
/// redelivered rather than lost.
async fn republish(
    side: &Publisher,
    exchange: &str,
    routing_key: &str,
    message_id: &str,
    payload: &[u8],
    table: FieldTable,
) -> Result<(), SessionError> {
    Ok(side
        .send(exchange, routing_key, message_id, payload, table)
        .await?)
}

#[allow(clippy::cast_precision_loss)] // millisecond differences far below 2^52
fn ms_to_s(ms: i64) -> f64 {
    ms as f64 / 1000.0
}
