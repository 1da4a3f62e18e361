//! The `order.placed` consumer: decode (poison when the body is not an order event of a version
//! this service reads), render, store with the inbox entry, count.

use apiary_bus::topology::{self, events};
use apiary_bus::{Broker, Effect, HandlerError, Incoming, Subscription, consume};
use apiary_wire::events::OrderPlaced;

use crate::store::NotificationStore;
use crate::{metrics, render};

/// Handles one delivery.
pub async fn handle(store: &NotificationStore, message: Incoming) -> Result<Effect, HandlerError> {
    let event: OrderPlaced = message.json()?;
    event
        .check_version()
        .map_err(|e| HandlerError::Poison(e.to_string()))?;
    let rendered = render::confirmation(&event);
    let effect = store
        .record(message.message_id, &event, rendered, apiary_store::now_ms())
        .await
        .map_err(|e| HandlerError::Retry(e.to_string()))?;
    if effect == Effect::Applied {
        metrics::sent();
        tracing::info!(order_id = %event.order_id, "order confirmation stored");
    }
    Ok(effect)
}

/// Consumes `notifications.order-placed` until the task is dropped.
pub async fn run(store: NotificationStore, broker: Broker) {
    let queue = topology::queue(crate::SERVICE.name, events::ORDER_PLACED)
        .expect("the topology lists the notifications queue");
    consume::run(broker, Subscription::new(queue), move |message| {
        let store = store.clone();
        async move { handle(&store, message).await }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(body: &[u8]) -> Incoming {
        Incoming {
            message_id: "order.placed/o-1".into(),
            routing_key: events::ORDER_PLACED.into(),
            payload: body.to_vec(),
            attempt: 1,
            redelivered: false,
            sent_at_ms: None,
        }
    }

    #[tokio::test]
    async fn malformed_and_unknown_versions_are_poison_and_store_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = NotificationStore::open(dir.path()).expect("open");
        let poison = handle(&store, incoming(b"{not json")).await;
        assert!(matches!(poison, Err(HandlerError::Poison(_))), "{poison:?}");
        let mut future = serde_json::to_value(crate::store::tests::event("o-1")).expect("json");
        future["version"] = 2.into();
        let body = serde_json::to_vec(&future).expect("body");
        let unknown = handle(&store, incoming(&body)).await;
        assert!(
            matches!(unknown, Err(HandlerError::Poison(ref m)) if m.contains("version 2")),
            "{unknown:?}"
        );
        assert!(store.list(None, 10).await.expect("list").is_empty());

        let good = serde_json::to_vec(&crate::store::tests::event("o-1")).expect("body");
        assert_eq!(handle(&store, incoming(&good)).await, Ok(Effect::Applied));
        assert_eq!(handle(&store, incoming(&good)).await, Ok(Effect::Duplicate));
    }
}
