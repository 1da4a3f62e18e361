//! The exchange, the queues and their bindings: one definition for every producer and consumer.
//!
//! ```text
//! orders ──(outbox relay)──▶ shop.events (topic) ──order.placed──▶ notifications.order-placed ──▶ notifications
//!                                                  ├─order.placed──▶ shipping.order-placed      ──▶ shipping
//!                                                  └─order.placed──▶ recommendations.order-placed ─▶ recommendations
//! a queue's rejected / poison messages ──▶ shop.dead-letter (direct, key = queue) ──▶ <queue>.dead
//! ```
//!
//! Every queue is a durable classic queue whose `x-dead-letter-exchange` is the dead-letter
//! exchange, so a message the broker itself dead-letters (a `nack` without requeue) lands in the
//! same place as one a consumer dead-letters with a reason.

#[cfg(feature = "client")]
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
#[cfg(feature = "client")]
use lapin::types::{AMQPValue, FieldTable, ShortString};
#[cfg(feature = "client")]
use lapin::{Channel, ExchangeKind};

/// The topic exchange domain events are published to.
pub const EXCHANGE: &str = "shop.events";
/// Where consumers (and the broker) send the messages a queue gave up on.
pub const DEAD_LETTER_EXCHANGE: &str = "shop.dead-letter";

/// Routing keys (event names).
pub mod events {
    /// An order was recorded by the orders service.
    pub const ORDER_PLACED: &str = "order.placed";
}

/// One consumer's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queue {
    /// The queue's name, `<consumer>.<event>`.
    pub name: &'static str,
    /// The consuming service (`messaging.consumer.group.name`).
    pub consumer: &'static str,
    /// The binding key on [`EXCHANGE`].
    pub binding: &'static str,
    /// Its dead-letter queue.
    pub dead_letter: &'static str,
}

/// Every consumer queue in the shop.
pub const QUEUES: &[Queue] = &[
    Queue {
        name: "notifications.order-placed",
        consumer: "notifications",
        binding: events::ORDER_PLACED,
        dead_letter: "notifications.order-placed.dead",
    },
    Queue {
        name: "shipping.order-placed",
        consumer: "shipping",
        binding: events::ORDER_PLACED,
        dead_letter: "shipping.order-placed.dead",
    },
    Queue {
        name: "recommendations.order-placed",
        consumer: "recommendations",
        binding: events::ORDER_PLACED,
        dead_letter: "recommendations.order-placed.dead",
    },
];

/// The queue `consumer` reads `event` from.
pub fn queue(consumer: &str, event: &str) -> Option<&'static Queue> {
    QUEUES
        .iter()
        .find(|q| q.consumer == consumer && q.binding == event)
}

/// The queues that receive `routing_key` (what the producer's publish reaches).
pub fn routes(routing_key: &str) -> impl Iterator<Item = &'static Queue> + '_ {
    QUEUES.iter().filter(move |q| q.binding == routing_key)
}

/// Declares the exchanges, every queue with its dead-letter queue, and the bindings. Idempotent:
/// every producer and consumer runs it on each connection.
#[cfg(feature = "client")]
pub async fn declare(channel: &Channel) -> Result<(), lapin::Error> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            EXCHANGE.into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await?;
    channel
        .exchange_declare(
            DEAD_LETTER_EXCHANGE.into(),
            ExchangeKind::Direct,
            durable,
            FieldTable::default(),
        )
        .await?;
    for queue in QUEUES {
        let mut arguments = FieldTable::default();
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(DEAD_LETTER_EXCHANGE.into()),
        );
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(queue.name.into()),
        );
        channel
            .queue_declare(queue.name.into(), QueueDeclareOptions::durable(), arguments)
            .await?;
        channel
            .queue_bind(
                queue.name.into(),
                EXCHANGE.into(),
                queue.binding.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_declare(
                queue.dead_letter.into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                queue.dead_letter.into(),
                DEAD_LETTER_EXCHANGE.into(),
                ShortString::from(queue.name),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_queue_is_named_after_its_consumer_and_event_and_has_its_own_dead_letter_queue() {
        let mut names = std::collections::HashSet::new();
        for q in QUEUES {
            assert!(q.name.starts_with(&format!("{}.", q.consumer)), "{q:?}");
            assert_eq!(q.dead_letter, format!("{}.dead", q.name));
            assert!(
                names.insert(q.name) && names.insert(q.dead_letter),
                "unique: {q:?}"
            );
        }
    }

    #[test]
    fn the_manifest_and_the_topology_agree_on_who_publishes_and_consumes_what() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../apiary.toml");
        let manifest = apiary_manifest::Manifest::load(&path).expect("apiary.toml");
        let mut declared = Vec::new();
        for s in &manifest.services {
            for event in &s.consumes {
                assert!(
                    queue(&s.name, event).is_some(),
                    "{} consumes {event} in apiary.toml but has no queue in the topology",
                    s.name
                );
                declared.push((s.name.as_str(), event.as_str()));
            }
            for event in &s.publishes {
                assert!(
                    routes(event).next().is_some(),
                    "{} publishes {event}, which no queue receives",
                    s.name
                );
            }
        }
        for q in QUEUES {
            assert!(
                declared.contains(&(q.consumer, q.binding)),
                "queue {} has no consumer declared in apiary.toml",
                q.name
            );
        }
    }

    #[test]
    fn an_order_placed_reaches_notifications_shipping_and_recommendations() {
        let consumers: Vec<_> = routes(events::ORDER_PLACED).map(|q| q.consumer).collect();
        assert_eq!(consumers, ["notifications", "shipping", "recommendations"]);
        assert_eq!(
            queue("shipping", events::ORDER_PLACED).map(|q| q.name),
            Some("shipping.order-placed")
        );
        assert!(queue("shipping", "order.cancelled").is_none());
    }
}
