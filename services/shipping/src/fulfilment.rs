//! The `order.placed` consumer (a shipment per order) and the warehouse that ships pending
//! shipments after [`crate::Config::dispatch_after`].

use std::time::Duration;

use apiary_bus::topology::{self, events};
use apiary_bus::{Broker, Effect, HandlerError, Incoming, Subscription, consume};
use apiary_telemetry::metrics::{counter, gauge};
use apiary_wire::events::OrderPlaced;

use crate::metrics;
use crate::shipments::ShipmentStore;

/// Handles one delivery.
pub async fn handle(store: &ShipmentStore, message: Incoming) -> Result<Effect, HandlerError> {
    let event: OrderPlaced = message.json()?;
    event
        .check_version()
        .map_err(|e| HandlerError::Poison(e.to_string()))?;
    if event.lines.is_empty() {
        return Err(HandlerError::Poison(
            "an order without lines cannot be shipped".into(),
        ));
    }
    let effect = store
        .create(message.message_id, &event, apiary_store::now_ms())
        .await
        .map_err(|e| HandlerError::Retry(e.to_string()))?;
    if effect == Effect::Applied {
        counter!(metrics::SHIPMENTS_CREATED).increment(1);
        tracing::info!(order_id = %event.order_id, "shipment created");
    }
    Ok(effect)
}

/// Consumes `shipping.order-placed` until the task is dropped.
pub async fn consume(store: ShipmentStore, broker: Broker) {
    let queue = topology::queue(crate::SERVICE.name, events::ORDER_PLACED)
        .expect("the topology lists the shipping queue");
    consume::run(broker, Subscription::new(queue), move |message| {
        let store = store.clone();
        async move { handle(&store, message).await }
    })
    .await;
}

/// Every second: ships what has waited `after`, keeps the pending gauge current.
pub async fn warehouse(store: ShipmentStore, after: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let after_ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
    loop {
        tick.tick().await;
        let now = apiary_store::now_ms();
        if let Ok(shipped) = store.dispatch(now.saturating_sub(after_ms), now).await
            && !shipped.is_empty()
        {
            counter!(metrics::SHIPMENTS_SHIPPED).increment(shipped.len() as u64);
        }
        if let Ok(summary) = store.summary().await {
            #[allow(clippy::cast_precision_loss)] // counts far below 2^52
            gauge!(metrics::SHIPMENTS_PENDING).set(summary.pending as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(body: Vec<u8>) -> Incoming {
        Incoming {
            message_id: "order.placed/o-1".into(),
            routing_key: events::ORDER_PLACED.into(),
            payload: body,
            attempt: 1,
            redelivered: false,
            sent_at_ms: None,
        }
    }

    #[tokio::test]
    async fn malformed_events_are_poison_and_good_ones_create_one_shipment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ShipmentStore::open(dir.path()).expect("open");
        let poison = handle(&store, incoming(b"[]".to_vec())).await;
        assert!(matches!(poison, Err(HandlerError::Poison(_))), "{poison:?}");
        let good = serde_json::to_vec(&crate::shipments::tests::event("o-1", 2)).expect("body");
        assert_eq!(
            handle(&store, incoming(good.clone())).await,
            Ok(Effect::Applied)
        );
        assert_eq!(handle(&store, incoming(good)).await, Ok(Effect::Duplicate));
    }
}
