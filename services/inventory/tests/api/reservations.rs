use std::time::Duration;

use apiary_wire::shop::{Reservation, ReservationStatus};
use serde_json::json;

use crate::helpers::{
    error, metric_value, other_stocked_product, product_with_stock, reserve_body, spawn_app,
    spawn_with_hold, stocked_product,
};

#[tokio::test]
async fn a_reservation_holds_stock_and_replays_by_id() {
    let app = spawn_app().await;
    let (a, a_units) = stocked_product(5);
    let (b, b_units) = other_stocked_product(5, a);
    let a_units = u64::from(a_units);
    let b_units = u64::from(b_units);
    let resp = app.reserve("chk-1", &[(a, 2), (b, 1)]).await;
    assert_eq!(resp.status(), 201);
    let created: Reservation = resp.json().await.expect("reservation");
    assert_eq!(created.reservation_id, "chk-1");
    assert_eq!(created.status, ReservationStatus::Held);
    assert_eq!(created.items.len(), 2);
    let now = apiary_store::now_ms();
    assert!(created.expires_at_ms > now + 590_000 && created.expires_at_ms <= now + 600_000);
    assert_eq!(app.level(a).await, (a_units - 2, 2, 0));
    assert_eq!(app.level(b).await, (b_units - 1, 1, 0));

    // Same lines (any order): 200 with the same reservation; nothing moves.
    let resp = app.reserve("chk-1", &[(b, 1), (a, 2)]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Reservation>().await.expect("replay"), created);
    assert_eq!(app.level(a).await, (a_units - 2, 2, 0));

    // Other lines: a conflict.
    let resp = app.reserve("chk-1", &[(a, 3)]).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error(resp).await.0, "reservation_conflict");

    let resp = app.get("/reservations/chk-1").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Reservation>().await.expect("read"), created);
}

#[tokio::test]
async fn out_of_stock_changes_nothing_names_the_products_and_is_counted() {
    let app = spawn_app().await;
    let (plenty, units) = stocked_product(5);
    let scarce = product_with_stock(2);
    let before = app.get("/metrics").await.text().await.expect("metrics");
    let resp = app.reserve("short", &[(plenty, 1), (scarce, 3)]).await;
    assert_eq!(resp.status(), 409);
    let (code, message) = error(resp).await;
    assert_eq!(code, "out_of_stock");
    assert!(message.contains(scarce), "{message}");
    assert!(!message.contains(plenty), "{message}");
    assert_eq!(app.level(plenty).await, (u64::from(units), 0, 0));
    assert_eq!(app.level(scarce).await, (2, 0, 0));
    // Not recorded: the id may succeed later.
    assert_eq!(app.get("/reservations/short").await.status(), 404);
    assert_eq!(app.reserve("short", &[(scarce, 2)]).await.status(), 201);

    let after = app.get("/metrics").await.text().await.expect("metrics");
    // Other tests in this process count too, so only a lower bound is exact.
    assert!(
        metric_value(&after, "shop_stockouts_total{stage=\"reservation\"}")
            >= metric_value(&before, "shop_stockouts_total{stage=\"reservation\"}") + 1.0,
        "{after}"
    );
    assert!(
        metric_value(&after, r#"shop_reservations_total{outcome="out_of_stock"}"#) >= 1.0,
        "{after}"
    );
}

#[tokio::test]
async fn unknown_products_are_a_404_naming_them() {
    let app = spawn_app().await;
    let (plenty, units) = stocked_product(1);
    let resp = app.reserve("r", &[(plenty, 1), ("MU-9999", 1)]).await;
    assert_eq!(resp.status(), 404);
    let (code, message) = error(resp).await;
    assert_eq!(code, "unknown_product");
    assert!(message.contains("MU-9999"), "{message}");
    assert_eq!(app.level(plenty).await, (u64::from(units), 0, 0));
}

#[tokio::test]
async fn invalid_reservations_are_a_422_with_a_specific_code() {
    let app = spawn_app().await;
    let fifty_one: Vec<(String, u32)> = (1..=51).map(|i| (format!("BK-{i:04}"), 1)).collect();
    let fifty_one: Vec<(&str, u32)> = fifty_one.iter().map(|(p, q)| (p.as_str(), *q)).collect();
    let cases = [
        (
            reserve_body("has space", &[("BK-0001", 1)]),
            "invalid_reservation_id",
        ),
        (
            reserve_body(&"x".repeat(65), &[("BK-0001", 1)]),
            "invalid_reservation_id",
        ),
        (
            reserve_body("", &[("BK-0001", 1)]),
            "invalid_reservation_id",
        ),
        (reserve_body("r", &[]), "invalid_lines"),
        (reserve_body("r", &fifty_one), "invalid_lines"),
        (reserve_body("r", &[("BK-1", 1)]), "invalid_product_id"),
        (reserve_body("r", &[("BK-0001", 0)]), "invalid_quantity"),
        (reserve_body("r", &[("BK-0001", 100)]), "invalid_quantity"),
        (
            reserve_body("r", &[("BK-0001", 1), ("BK-0002", 1), ("BK-0001", 2)]),
            "duplicate_line",
        ),
        (
            json!({"reservation_id": "r", "items": [{"product_id": "BK-0001", "quantity": -1}]}),
            "invalid_body",
        ),
        (json!({"reservation_id": "r"}), "invalid_body"),
    ];
    for (body, code) in cases {
        let resp = app.post_json("/reservations", &body).await;
        assert_eq!(resp.status(), 422, "{body}");
        assert_eq!(error(resp).await.0, code, "{body}");
    }
    assert_eq!(app.level("BK-0001").await.1, 0);
}

#[tokio::test]
async fn bodies_that_are_not_json_are_refused_with_a_json_error() {
    let app = spawn_app().await;
    let url = format!("{}/reservations", app.address);
    let resp = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 400);
    assert_eq!(error(resp).await.0, "malformed_json");
    let resp = app
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .body(reserve_body("r", &[("BK-0001", 1)]).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 415);
    assert_eq!(error(resp).await.0, "unsupported_media_type");
}

#[tokio::test]
async fn commit_sells_the_held_units_once() {
    let app = spawn_app().await;
    let (p, units) = stocked_product(5);
    let units = u64::from(units);
    assert_eq!(app.reserve("c1", &[(p, 3)]).await.status(), 201);
    let resp = app.post_empty("/reservations/c1/commit").await;
    assert_eq!(resp.status(), 200);
    let r: Reservation = resp.json().await.expect("reservation");
    assert_eq!(r.status, ReservationStatus::Committed);
    assert_eq!(app.level(p).await, (units - 3, 0, 3));
    // Again: 200, nothing moves.
    let resp = app.post_empty("/reservations/c1/commit").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.level(p).await, (units - 3, 0, 3));
    // A committed reservation cannot be released.
    let resp = app.post_empty("/reservations/c1/release").await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error(resp).await.0, "reservation_committed");
    // Replaying the reserve answers the committed reservation.
    let resp = app.reserve("c1", &[(p, 3)]).await;
    assert_eq!(resp.status(), 200);
    let r: Reservation = resp.json().await.expect("replay");
    assert_eq!(r.status, ReservationStatus::Committed);
    assert_eq!(app.level(p).await, (units - 3, 0, 3));
}

#[tokio::test]
async fn release_returns_the_units_once_and_blocks_a_later_commit() {
    let app = spawn_app().await;
    let (p, units) = stocked_product(5);
    let units = u64::from(units);
    assert_eq!(app.reserve("r1", &[(p, 4)]).await.status(), 201);
    let resp = app.post_empty("/reservations/r1/release").await;
    assert_eq!(resp.status(), 200);
    let r: Reservation = resp.json().await.expect("reservation");
    assert_eq!(r.status, ReservationStatus::Released);
    assert_eq!(app.level(p).await, (units, 0, 0));
    assert_eq!(
        app.post_empty("/reservations/r1/release").await.status(),
        200
    );
    assert_eq!(app.level(p).await, (units, 0, 0));
    let resp = app.post_empty("/reservations/r1/commit").await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error(resp).await.0, "reservation_released");
    assert_eq!(app.level(p).await, (units, 0, 0));
}

#[tokio::test]
async fn releasing_an_unknown_id_refuses_a_late_reserve_with_it() {
    let app = spawn_app().await;
    let (p, units) = stocked_product(1);
    let resp = app.post_empty("/reservations/timed-out/release").await;
    assert_eq!(resp.status(), 200);
    let r: Reservation = resp.json().await.expect("tombstone");
    assert_eq!(r.status, ReservationStatus::Released);
    assert!(r.items.is_empty());
    let resp = app.reserve("timed-out", &[(p, 1)]).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error(resp).await.0, "reservation_released");
    assert_eq!(app.level(p).await, (u64::from(units), 0, 0));
}

#[tokio::test]
async fn unknown_or_malformed_reservation_ids_are_a_4xx() {
    let app = spawn_app().await;
    for (path, status, code) in [
        ("/reservations/ghost", 404, "reservation_not_found"),
        ("/reservations/bad.id", 400, "invalid_reservation_id"),
    ] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(error(resp).await.0, code, "{path}");
    }
    for (path, status, code) in [
        ("/reservations/ghost/commit", 404, "reservation_not_found"),
        ("/reservations/bad.id/commit", 400, "invalid_reservation_id"),
        (
            "/reservations/bad.id/release",
            400,
            "invalid_reservation_id",
        ),
        (
            "/reservations/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/release",
            400,
            "invalid_reservation_id",
        ),
    ] {
        let resp = app.post_empty(path).await;
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(error(resp).await.0, code, "{path}");
    }
}

#[tokio::test]
async fn expired_holds_are_released_by_the_sweeper() {
    let app = spawn_with_hold(Duration::from_millis(300)).await;
    let (p, units) = stocked_product(2);
    assert_eq!(app.reserve("slow", &[(p, 2)]).await.status(), 201);
    assert_eq!(app.level(p).await.1, 2);
    let mut status = ReservationStatus::Held;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r: Reservation = app
            .get("/reservations/slow")
            .await
            .json()
            .await
            .expect("reservation");
        status = r.status;
        if status != ReservationStatus::Held {
            break;
        }
    }
    assert_eq!(status, ReservationStatus::Released);
    assert_eq!(app.level(p).await, (u64::from(units), 0, 0));
    let resp = app.post_empty("/reservations/slow/commit").await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error(resp).await.0, "reservation_released");
    let text = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metric_value(&text, r#"shop_reservations_total{outcome="expired"}"#) >= 1.0,
        "{text}"
    );
}

#[tokio::test]
async fn concurrent_reservations_over_http_never_oversell() {
    let app = std::sync::Arc::new(spawn_app().await);
    let scarce = product_with_stock(3);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30 {
        let app = app.clone();
        tasks.spawn(async move {
            app.reserve(&format!("rush-{i}"), &[(scarce, 1)])
                .await
                .status()
        });
    }
    let (mut created, mut refused) = (0, 0);
    while let Some(status) = tasks.join_next().await {
        match status.expect("task").as_u16() {
            201 => created += 1,
            409 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((created, refused), (3, 27));
    assert_eq!(app.level(scarce).await, (0, 3, 0));
}
