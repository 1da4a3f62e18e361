//! Fulfilment: an order event in, one shipment out, shipped by the warehouse; over a real broker.

use std::time::Duration;

use apiary_bus::{Broker, BrokerConfig, Outgoing, Publisher};
use apiary_testkit::BrokerNode;
use apiary_wire::events::OrderPlaced;
use serde_json::Value;
use shipping::Config;

use crate::helpers::{error_code, spawn_app, spawn_with};

fn order_placed(order_id: &str) -> Outgoing {
    let event = apiary_testkit::events::order_placed(order_id, &[("VI-0003", 2)]);
    Outgoing::event(OrderPlaced::message_id(order_id), OrderPlaced::NAME, &event).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_event_becomes_a_shipment_that_the_warehouse_ships() {
    let node = BrokerNode::start().await;
    let app = spawn_with(|c| Config {
        broker: BrokerConfig::at(node.url()),
        dispatch_after: Duration::from_millis(1500),
        ..c
    })
    .await;
    let broker = Broker::new(&node.url(), "test-producer");
    let connection = broker.connect().await.expect("connect");
    let publisher = Publisher::open(&connection, "test")
        .await
        .expect("publisher");
    for id in ["s-1", "s-1", "s-2"] {
        publisher
            .publish(&order_placed(id))
            .await
            .expect("confirmed");
    }
    let mut shipment = Value::Null;
    for _ in 0..100 {
        let resp = app.get("/shipments/s-1").await;
        if resp.status() == 200 {
            shipment = resp.json().await.expect("json");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(shipment["status"], "pending", "{shipment}");
    assert_eq!(shipment["units"], 2);

    let mut shipped = Value::Null;
    for _ in 0..100 {
        shipped = app.get("/shipments/s-1").await.json().await.expect("json");
        if shipped["status"] == "shipped" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(shipped["status"], "shipped", "{shipped}");
    assert!(
        shipped["tracking_id"]
            .as_str()
            .is_some_and(|t| t.starts_with("APY"))
    );
    for _ in 0..100 {
        let summary: Value = app
            .get("/shipments/summary")
            .await
            .json()
            .await
            .expect("json");
        if summary["shipped"] == 2 {
            assert_eq!(summary["pending"], 0);
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("both orders shipped once each");
}

#[tokio::test]
async fn unknown_and_malformed_order_ids() {
    let app = spawn_app().await;
    let missing = app.get("/shipments/nothing-yet").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(error_code(missing).await, "shipment_not_found");
    let bad = app.get("/shipments/no%2Fslash").await;
    assert_eq!(bad.status(), 400);
    assert_eq!(error_code(bad).await, "invalid_order_id");
}
