//! Orders survive restarts: in process (the same data directory opened twice) and across a
//! SIGKILL of the real binary right after it answered.

use apiary_testkit::ServiceBinary;
use apiary_wire::shop::{Order, OrderFeed};

use crate::helpers::{order, spawn_in};

#[tokio::test]
async fn a_restart_keeps_orders_and_the_seq_keeps_growing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = spawn_in(dir.path()).await;
    assert_eq!(first.place(&order("r-1")).await.status(), 201);
    assert_eq!(first.place(&order("r-2")).await.status(), 201);
    first.stop().await;

    let second = spawn_in(dir.path()).await;
    let feed: OrderFeed = second.get("/orders").await.json().await.expect("feed");
    let ids: Vec<&str> = feed.items.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, ["r-1", "r-2"]);
    // Idempotency holds across the restart.
    assert_eq!(second.place(&order("r-2")).await.status(), 200);
    let third: Order = second
        .place(&order("r-3"))
        .await
        .json()
        .await
        .expect("order");
    assert_eq!(third.seq, 3);
}

#[tokio::test]
async fn an_answered_order_survives_a_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();

    let running = ServiceBinary::start(env!("CARGO_BIN_EXE_orders"), dir.path()).await;
    let base = running.base().to_owned();
    let resp = http
        .post(format!("{base}/orders"))
        .json(&order("k-1"))
        .send()
        .await
        .expect("place");
    assert_eq!(resp.status(), 201);
    let placed: Order = resp.json().await.expect("order");
    // SIGKILL: no shutdown hook runs, nothing is flushed by the service.
    running.kill();

    let restarted = ServiceBinary::start(env!("CARGO_BIN_EXE_orders"), dir.path()).await;
    let base = restarted.base().to_owned();
    let resp = http
        .get(format!("{base}/orders/k-1"))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Order>().await.expect("order"), placed);
    let summary: serde_json::Value = http
        .get(format!("{base}/orders/summary"))
        .send()
        .await
        .expect("summary")
        .json()
        .await
        .expect("json");
    assert_eq!(summary["orders"], 1);
}
