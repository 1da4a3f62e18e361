//! State survives restarts: in process (the same data directory opened twice) and across a
//! SIGKILL of the real binary right after it answered.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use apiary_wire::shop::{Reservation, ReservationStatus};

use crate::helpers::{reserve_body, spawn_in, stocked_product};

#[tokio::test]
async fn a_restart_keeps_stock_and_reservations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, units) = stocked_product(5);
    let units = u64::from(units);
    let first = spawn_in(dir.path()).await;
    assert_eq!(first.reserve("kept", &[(p, 2)]).await.status(), 201);
    assert_eq!(
        first.post_empty("/reservations/kept/commit").await.status(),
        200
    );
    assert_eq!(first.reserve("held", &[(p, 1)]).await.status(), 201);
    assert_eq!(
        first
            .post_empty("/reservations/gone/release")
            .await
            .status(),
        200
    );
    first.stop().await;

    let second = spawn_in(dir.path()).await;
    // Re-seeding at start-up did not refill the shelf.
    assert_eq!(second.level(p).await, (units - 3, 1, 2));
    let kept: Reservation = second
        .get("/reservations/kept")
        .await
        .json()
        .await
        .expect("kept");
    assert_eq!(kept.status, ReservationStatus::Committed);
    assert_eq!(second.reserve("gone", &[(p, 1)]).await.status(), 409);
    assert_eq!(
        second
            .post_empty("/reservations/held/commit")
            .await
            .status(),
        200
    );
    assert_eq!(second.level(p).await, (units - 3, 0, 3));
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
    let child = Command::new(env!("CARGO_BIN_EXE_inventory"))
        .env("APIARY_HOST", "127.0.0.1")
        .env("APIARY_PORT", port.to_string())
        .env("APIARY_DATA_DIR", data_dir)
        .env("OTEL_SDK_DISABLED", "true")
        .env("RUST_LOG", "warn")
        .env_remove("APIARY_SUPERVISOR_PID")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the inventory binary");
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
    panic!("the inventory binary did not become ready at {base}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test]
async fn an_answered_change_survives_a_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();
    let (p, units) = stocked_product(5);
    let units = u64::from(units);

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut running = start_binary(dir.path(), port);
    wait_ready(&http, &base).await;
    let resp = http
        .post(format!("{base}/reservations"))
        .json(&reserve_body("k1", &[(p, 3)]))
        .send()
        .await
        .expect("reserve");
    assert_eq!(resp.status(), 201);
    let resp = http
        .post(format!("{base}/reservations/k1/commit"))
        .send()
        .await
        .expect("commit");
    assert_eq!(resp.status(), 200);
    let resp = http
        .post(format!("{base}/reservations"))
        .json(&reserve_body("k2", &[(p, 1)]))
        .send()
        .await
        .expect("reserve");
    assert_eq!(resp.status(), 201);
    // SIGKILL: no shutdown hook runs, nothing is flushed by the service.
    running.0.kill().expect("kill");
    running.0.wait().expect("reap");

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _restarted = start_binary(dir.path(), port);
    wait_ready(&http, &base).await;
    let level: serde_json::Value = http
        .get(format!("{base}/stock/{p}"))
        .send()
        .await
        .expect("stock")
        .json()
        .await
        .expect("json");
    assert_eq!(level["available"].as_u64(), Some(units - 4), "{level}");
    assert_eq!(level["reserved"].as_u64(), Some(1), "{level}");
    assert_eq!(level["sold"].as_u64(), Some(3), "{level}");
    let k2: Reservation = http
        .get(format!("{base}/reservations/k2"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(k2.status, ReservationStatus::Held);
}
