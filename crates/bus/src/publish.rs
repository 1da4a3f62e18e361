//! Publishing with publisher confirms: `Ok` only once the broker has routed the message to at
//! least one queue and taken responsibility for it (persistent message, durable queues).

use apiary_telemetry::messaging::{self, Carrier, Message};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection};
use tracing::Instrument as _;

use crate::{headers, metrics, topology};

/// An event to publish (an outbox row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Stable per event (the consumers' inbox key): a re-publish after a lost confirm is the
    /// same message.
    pub message_id: String,
    pub routing_key: String,
    /// JSON.
    pub payload: Vec<u8>,
    /// The trace context of the request that decided the event.
    pub trace: Carrier,
}

impl Outgoing {
    /// `event` as JSON under `message_id`, routed by `routing_key`, outside any trace.
    pub fn event(
        message_id: impl Into<String>,
        routing_key: impl Into<String>,
        event: &impl serde::Serialize,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            message_id: message_id.into(),
            routing_key: routing_key.into(),
            payload: serde_json::to_vec(event)?,
            trace: Carrier::default(),
        })
    }
}

/// Why a publish is not confirmed; the message stays in the outbox and is tried again.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the broker refused the message (nack)")]
    Nacked,
    #[error("no queue is bound for {0}: the message was returned")]
    Unroutable(String),
    #[error(transparent)]
    Amqp(#[from] lapin::Error),
}

/// A confirm-mode channel on one connection.
#[derive(Debug, Clone)]
pub struct Publisher {
    channel: Channel,
    app_id: &'static str,
}

impl Publisher {
    /// Opens a channel in confirm mode; `app_id` names the producing service on every message.
    pub async fn open(connection: &Connection, app_id: &'static str) -> Result<Self, lapin::Error> {
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Self { channel, app_id })
    }

    /// Publishes `message` to [`topology::EXCHANGE`] inside a `send` span (child of the deciding
    /// request's trace), with the span's context in the headers, and waits for the confirm.
    pub async fn publish(&self, message: &Outgoing) -> Result<(), PublishError> {
        let span = messaging::send_span(
            Message {
                destination: topology::EXCHANGE,
                routing_key: &message.routing_key,
                message_id: &message.message_id,
            },
            &message.trace,
        );
        span.record("messaging.message.body.size", message.payload.len());
        let mut table = FieldTable::default();
        headers::insert_carrier(&mut table, &messaging::carrier_of(&span));
        headers::insert_integer(&mut table, headers::ATTEMPT, 1);
        headers::insert_integer(&mut table, headers::SENT_AT_MS, crate::now_ms());
        let outcome = self
            .send(
                topology::EXCHANGE,
                &message.routing_key,
                &message.message_id,
                &message.payload,
                table,
            )
            .instrument(span.clone())
            .await;
        let label = match &outcome {
            Ok(()) => "acked",
            Err(PublishError::Nacked) => "nacked",
            Err(PublishError::Unroutable(_)) => "unroutable",
            Err(PublishError::Amqp(_)) => "failed",
        };
        if outcome.is_err() {
            messaging::record_failure(&span, label);
        }
        metrics::sent(topology::EXCHANGE, &message.routing_key, label);
        if outcome.is_ok() {
            self.maybe_poison(message).await;
        }
        outcome
    }

    /// The poison-message fault: after a share of events, a malformed one under the same routing
    /// key (its own message id), as a buggy producer would send. Consumers dead-letter it.
    async fn maybe_poison(&self, message: &Outgoing) {
        let poison = match apiary_faults::runtime::get() {
            Some(faults) => faults.poison().await,
            None => false,
        };
        if !poison {
            return;
        }
        let mut table = FieldTable::default();
        headers::insert_integer(&mut table, headers::ATTEMPT, 1);
        headers::insert_integer(&mut table, headers::SENT_AT_MS, crate::now_ms());
        let sent = self
            .send(
                topology::EXCHANGE,
                &message.routing_key,
                &format!("poison/{}", message.message_id),
                br#"{"version": 1, "poison": "injected by the poison-message fault"}"#,
                table,
            )
            .await;
        let label = if sent.is_ok() {
            "poison_injected"
        } else {
            "failed"
        };
        metrics::sent(topology::EXCHANGE, &message.routing_key, label);
    }

    /// Publishes raw (retries and dead letters go through here too) and waits for the confirm.
    pub(crate) async fn send(
        &self,
        exchange: &str,
        routing_key: &str,
        message_id: &str,
        payload: &[u8],
        table: FieldTable,
    ) -> Result<(), PublishError> {
        let properties = BasicProperties::default()
            .with_message_id(message_id.into())
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_app_id(self.app_id.into())
            .with_timestamp(u64::try_from(crate::now_ms() / 1000).unwrap_or(0))
            .with_headers(table);
        let confirm = self
            .channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                payload,
                properties,
            )
            .await?
            .await?;
        match confirm {
            Confirmation::Ack(None) | Confirmation::NotRequested => Ok(()),
            Confirmation::Ack(Some(_returned)) => {
                Err(PublishError::Unroutable(routing_key.to_owned()))
            }
            Confirmation::Nack(_) => Err(PublishError::Nacked),
        }
    }
}
