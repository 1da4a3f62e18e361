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
    model: &RwLock<Model>,
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
    let effect = store
        .record(
            message.message_id,
            event.order_id,
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
