//! Orders survive restarts: in process (the same data directory opened twice) and across a
//! SIGKILL of the real binary right after it answered.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

/// Kills the child when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_binary(data_dir: &std::path::Path, port: u16) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_orders"))
        .env("APIARY_HOST", "127.0.0.1")
        .env("APIARY_PORT", port.to_string())
        .env("APIARY_DATA_DIR", data_dir)
        .env("OTEL_SDK_DISABLED", "true")
        .env("RUST_LOG", "warn")
        .env_remove("APIARY_SUPERVISOR_PID")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the orders binary");
    Running(child)
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if let Ok(resp) = http.get(format!("{base}/health/ready")).send().await
            && resp.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the orders binary did not become ready at {base}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test]
async fn an_answered_order_survives_a_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut running = start_binary(dir.path(), port);
    wait_ready(&http, &base).await;
    let resp = http
        .post(format!("{base}/orders"))
        .json(&order("k-1"))
        .send()
        .await
        .expect("place");
    assert_eq!(resp.status(), 201);
    let placed: Order = resp.json().await.expect("order");
    // SIGKILL: no shutdown hook runs, nothing is flushed by the service.
    running.0.kill().expect("kill");
    running.0.wait().expect("reap");

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _restarted = start_binary(dir.path(), port);
    wait_ready(&http, &base).await;
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
