//! State survives restarts: in process (the same data directory opened twice) and across a
//! SIGKILL of the real binary right after it answered.

use apiary_testkit::ServiceBinary;
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

#[tokio::test]
async fn an_answered_change_survives_a_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();
    let (p, units) = stocked_product(5);
    let units = u64::from(units);

    let running = ServiceBinary::start(env!("CARGO_BIN_EXE_inventory"), dir.path()).await;
    let base = running.base().to_owned();
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
    running.kill();

    let restarted = ServiceBinary::start(env!("CARGO_BIN_EXE_inventory"), dir.path()).await;
    let base = restarted.base().to_owned();
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
