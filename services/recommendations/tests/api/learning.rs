//! Learning from order events (a real broker): co-purchases appear, a duplicate event counts
//! once, a poison event teaches nothing, and a restart keeps what was learned.

use std::collections::HashSet;

use apiary_bus::{Broker, BrokerConfig, Publisher};
use apiary_testkit::BrokerNode;

use crate::helpers::{ids, order_placed, spawn_app, spawn_in};

#[tokio::test]
async fn without_orders_the_answer_is_similar_products() {
    let app = spawn_app().await;
    let recs = app.recommendations("/recommendations/BK-0001").await;
    assert_eq!(recs.product_id, "BK-0001");
    assert_eq!(recs.model, "similar");
    assert_eq!(recs.items.len(), 4);
    let all = ids(&recs);
    assert!(!all.contains(&"BK-0001"));
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len());
    // Similar books first: every item is a book (BK-0001 is one, and has plenty of peers).
    assert!(all.iter().all(|id| id.starts_with("BK-")), "{all:?}");
    // Deterministic.
    assert_eq!(app.recommendations("/recommendations/BK-0001").await, recs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_events_become_co_purchases_once_each_and_survive_a_restart() {
    let node = BrokerNode::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_in(dir.path(), BrokerConfig::at(node.url())).await;
    let broker = Broker::new(&node.url(), "test-producer");
    let connection = broker.connect().await.expect("connect");
    let publisher = Publisher::open(&connection, "test")
        .await
        .expect("publisher");
    let events = [
        order_placed("o-1", &["BK-0001", "MU-0002"]),
        order_placed("o-2", &["BK-0001", "MU-0002", "VI-0003"]),
        order_placed("o-3", &["BK-0001", "MU-0002"]),
        order_placed("o-4", &["VI-0003", "BK-0004"]),
        // A redelivered event: no second effect.
        order_placed("o-1", &["BK-0001", "MU-0002"]),
    ];
    for event in &events {
        publisher.publish(event).await.expect("confirmed");
    }
    let mut poison = order_placed("o-5", &["BK-0001"]);
    poison.payload = b"{\"version\": 1}".to_vec();
    publisher.publish(&poison).await.expect("confirmed");

    let recs = app.wait_for_model("BK-0001", "co-purchase").await;
    assert_eq!(recs.model, "co-purchase");
    // Wait for the last event (o-4) to be learned too.
    let vi = app.wait_for_model("BK-0004", "co-purchase").await;
    assert_eq!(ids(&vi)[0], "VI-0003");
    let recs = app
        .recommendations("/recommendations/BK-0001?limit=5")
        .await;
    assert_eq!(&ids(&recs)[..2], &["MU-0002", "VI-0003"]);
    assert_eq!(recs.items[0].score, 3.0, "o-1 counted once: {recs:?}");
    assert_eq!(recs.items[1].score, 1.0);

    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert_eq!(
        apiary_testkit::metric_value(&metrics, "recommendations_orders_learned"),
        4.0
    );
    for _ in 0..100 {
        if node.queue_depth("recommendations.order-placed.dead").await == Some(1.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        node.queue_depth("recommendations.order-placed.dead").await,
        Some(1.0),
        "the poison event is dead-lettered"
    );

    // A restart (without the broker, even) rebuilds the model from its store.
    app.stop().await;
    let again = spawn_in(dir.path(), BrokerConfig::none()).await;
    let recs = again
        .recommendations("/recommendations/BK-0001?limit=5")
        .await;
    assert_eq!(recs.model, "co-purchase");
    assert_eq!(recs.items[0].score, 3.0);
}
