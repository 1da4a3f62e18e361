//! Events in, confirmations out; bad queries are refused with the standard error body.

use std::time::Duration;

use apiary_bus::{Broker, BrokerConfig, Outgoing, Publisher};
use apiary_testkit::BrokerNode;
use apiary_wire::events::OrderPlaced;
use serde_json::{Value, json};

use crate::helpers::{error_code, spawn_app};

fn order_placed(order_id: &str) -> Outgoing {
    let event = apiary_testkit::events::order_placed(order_id, &[("MU-0002", 3)]);
    Outgoing::event(OrderPlaced::message_id(order_id), OrderPlaced::NAME, &event).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_order_event_becomes_one_readable_confirmation() {
    let node = BrokerNode::start().await;
    let app = spawn_app(BrokerConfig::at(node.url())).await;
    let broker = Broker::new(&node.url(), "test-producer");
    let connection = broker.connect().await.expect("connect");
    let publisher = Publisher::open(&connection, "test")
        .await
        .expect("publisher");
    // The same event twice (a relay that did not see its confirm): one confirmation.
    for id in ["n-1", "n-2", "n-1"] {
        publisher
            .publish(&order_placed(id))
            .await
            .expect("confirmed");
    }
    let mut items = Vec::new();
    for _ in 0..100 {
        let body: Value = app.get("/notifications").await.json().await.expect("json");
        items = body["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body: Value = app.get("/notifications").await.json().await.expect("json");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(2), "{body}");
    assert_eq!(items.len(), 2);

    let one: Value = app
        .get("/notifications?order_id=n-1")
        .await
        .json()
        .await
        .expect("json");
    let n = &one["items"][0];
    assert_eq!(n["subject"], "Your Apiary order n-1 is confirmed");
    assert_eq!(n["message_id"], "order.placed/n-1");
    assert!(
        n["body"].as_str().is_some_and(|b| b.contains("34.96 EUR")),
        "{n}"
    );

    // The broker link is a reported check: ready, and it says the link is up.
    let ready: Value = app.get("/health/ready").await.json().await.expect("json");
    let broker_check = ready["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "broker").cloned())
        .expect("a broker check");
    assert_eq!(broker_check["ok"], true, "{ready}");
    assert_eq!(broker_check["required"], false);

    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert_eq!(
        apiary_testkit::metric_value(&metrics, "shop_notifications_sent_total"),
        2.0
    );
}

#[tokio::test]
async fn without_a_broker_the_service_is_ready_and_answers_empty() {
    let app = spawn_app(BrokerConfig::none()).await;
    assert_eq!(app.get("/health/ready").await.status(), 200);
    let body: Value = app
        .get("/notifications?order_id=none-yet")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body, json!({"items": []}));
}

#[tokio::test]
async fn bad_queries_are_refused() {
    let app = spawn_app(BrokerConfig::none()).await;
    let bad_id = app.get("/notifications?order_id=no/slash").await;
    assert_eq!(bad_id.status(), 400);
    assert_eq!(error_code(bad_id).await, "invalid_order_id");
    let bad_limit = app.get("/notifications?limit=0").await;
    assert_eq!(bad_limit.status(), 422);
    assert_eq!(error_code(bad_limit).await, "invalid_limit");
}
