//! The learner: the `order.placed` consumer. Each order's basket is recorded with the inbox
//! entry in one transaction, then taught to the model — so the model learns every order once,
//! however often its event arrives, and [`rebuild`] restores it after a restart.
//!
//! Recommendations are optional on the product page and must never wait for orders or the
//! broker: requests only read the model; when no events arrive the model simply stops growing.

use std::sync::{Arc, RwLock};

use apiary_bus::topology::{self, events};
use apiary_bus::{Broker, Effect, HandlerError, Incoming, Subscription, consume};
use apiary_store::StoreError;
use apiary_telemetry::metrics::gauge;
use apiary_wire::events::OrderPlaced;

use crate::baskets::BasketStore;
use crate::model::Model;

/// Teaches `model` every recorded basket (start-up).
pub async fn rebuild(store: &BasketStore, model: &RwLock<Model>) -> Result<u64, StoreError> {
    let baskets = store.all().await?;
    let mut model = model.write().unwrap_or_else(|p| p.into_inner());
    for basket in &baskets {
        model.learn(basket.iter().map(String::as_str));
    }
    publish(&model);
    Ok(model.orders_learned())
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn publish(model: &Model) {
    gauge!(crate::metrics::ORDERS_LEARNED).set(model.orders_learned() as f64);
}

/// Handles one delivery.
pub async fn handle(
    store: &BasketStore,
    model: &Arc<RwLock<Model>>,
    message: Incoming,
) -> Result<Effect, HandlerError> {
    let event: OrderPlaced = message.json()?;
    event
        .check_version()
        .map_err(|e| HandlerError::Poison(e.to_string()))?;
    let products: Vec<String> = event.lines.iter().map(|l| l.product_id.clone()).collect();
    if products.iter().any(|p| p.is_empty() || p.contains(' ')) {
        return Err(HandlerError::Poison(
            "a product id is empty or has a space".into(),
        ));
    }
    // The commit and the lesson run as one task of their own: the consumer drops in-flight
    // handlers when its session ends (a crash on another delivery, a lost channel), and the
    // store's commit carries on on its blocking thread regardless — a dropped handler between
    // the two would leave a basket recorded (so its redelivery is a duplicate) but never
    // learned, until the next restart's rebuild.
    let store = store.clone();
    let model = model.clone();
    let message_id = message.message_id;
    let order_id = event.order_id;
    tokio::spawn(async move {
        let effect = store
            .record(
                message_id,
                order_id,
                products.clone(),
                apiary_store::now_ms(),
            )
            .await
            .map_err(|e| HandlerError::Retry(e.to_string()))?;
        if effect == Effect::Applied {
            let mut model = model.write().unwrap_or_else(|p| p.into_inner());
            model.learn(products.iter().map(String::as_str));
            publish(&model);
        }
        Ok(effect)
    })
    .await
    .map_err(|e| HandlerError::Retry(format!("the learning task failed: {e}")))?
}

/// Consumes `recommendations.order-placed` until the task is dropped.
pub async fn run(store: BasketStore, model: Arc<RwLock<Model>>, broker: Broker) {
    let queue = topology::queue(crate::SERVICE.name, events::ORDER_PLACED)
        .expect("the topology lists the recommendations queue");
    consume::run(broker, Subscription::new(queue), move |message| {
        let store = store.clone();
        let model = model.clone();
        async move { handle(&store, &model, message).await }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::products::ProductIndex;

    fn delivery(order_id: &str, products: &[&str]) -> Incoming {
        let lines: Vec<serde_json::Value> = products
            .iter()
            .map(|p| {
                serde_json::json!({"product_id": p, "title": p, "quantity": 1,
                    "unit_price": {"amount_minor": 100, "currency": "EUR"}})
            })
            .collect();
        let event = serde_json::json!({
            "version": 1, "order_id": order_id, "cart_id": "c", "lines": lines,
            "shipping": {"amount_minor": 0, "currency": "EUR"},
            "total": {"amount_minor": 100, "currency": "EUR"}, "placed_at_ms": 1,
        });
        Incoming {
            message_id: OrderPlaced::message_id(order_id),
            routing_key: OrderPlaced::NAME.to_owned(),
            payload: serde_json::to_vec(&event).expect("json"),
            attempt: 1,
            redelivered: false,
            sent_at_ms: None,
        }
    }

    /// The consumer drops in-flight handlers when its session ends; a handler dropped after
    /// the commit started must still teach the model (its redelivery is then a duplicate).
    #[tokio::test]
    async fn a_handler_dropped_mid_commit_still_teaches_the_model_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BasketStore::open(dir.path()).expect("store");
        let model = Arc::new(RwLock::new(Model::new(ProductIndex::from_seed())));
        let message = delivery("o-1", &["BK-0001", "MU-0002"]);
        {
            let mut handling = std::pin::pin!(handle(&store, &model, message.clone()));
            // One poll starts the commit, then the handler is gone.
            let first =
                std::future::poll_fn(|cx| std::task::Poll::Ready(handling.as_mut().poll(cx))).await;
            assert!(first.is_pending(), "the commit cannot finish in one poll");
        }
        let mut learned = 0;
        for _ in 0..200 {
            learned = model.read().expect("model").orders_learned();
            if learned == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(learned, 1, "the recorded basket was learned");
        // The redelivery of the same message is absorbed by the inbox.
        let again = handle(&store, &model, message).await.expect("handled");
        assert_eq!(again, Effect::Duplicate);
        assert_eq!(model.read().expect("model").orders_learned(), 1);
    }
}
