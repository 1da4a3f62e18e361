//! Failures whose outcome is unknown, and the clean-up that follows them.

use std::time::Duration;

use apiary_chassis::resilience::BreakerConfig;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    PAYMENT_TIMEOUT, TestApp, checkout_body, checkout_body_for, error_code, error_json,
    reservation, spawn_app, spawn_with_breaker,
};

const RELEASE: &str = "/reservations/co-1/release";

async fn mount_release(app: &TestApp) {
    Mock::given(method("POST"))
        .and(path(RELEASE))
        .respond_with(ResponseTemplate::new(200).set_body_json(reservation("released")))
        .mount(&app.inventory)
        .await;
}

fn voided() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "idempotency_key": "co-1", "outcome": "voided", "charge_id": "ch_1"
    }))
}

#[tokio::test]
async fn a_charge_that_timed_out_is_voided_by_key_and_the_stock_released() {
    let app = spawn_app().await;
    app.mount_reads().await;
    app.mount_hold_and_quote().await;
    mount_release(&app).await;
    // The provider may have charged after all: the answer never arrived.
    Mock::given(method("POST"))
        .and(path("/charges"))
        .respond_with(ResponseTemplate::new(201).set_delay(PAYMENT_TIMEOUT * 3))
        .mount(&app.payment)
        .await;
    Mock::given(method("POST"))
        .and(path("/voids"))
        .respond_with(voided())
        .mount(&app.payment)
        .await;

    let resp = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(resp.status(), 504);
    assert_eq!(error_code(resp).await, "upstream_timeout");
    app.settle().await;
    assert!(TestApp::calls(&app.payment, "POST", "/voids").await >= 1);
    assert!(TestApp::calls(&app.inventory, "POST", RELEASE).await >= 1);
    assert_eq!(TestApp::calls(&app.orders, "POST", "/orders").await, 0);
}

#[tokio::test]
async fn a_void_that_cannot_happen_now_is_retried_in_the_background() {
    let app = spawn_app().await;
    app.mount_reads().await;
    app.mount_hold_and_quote().await;
    mount_release(&app).await;
    Mock::given(method("POST"))
        .and(path("/charges"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.payment)
        .await;
    // Payment is restarting: the first voids fail, later ones succeed.
    Mock::given(method("POST"))
        .and(path("/voids"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(4)
        .with_priority(1)
        .mount(&app.payment)
        .await;
    Mock::given(method("POST"))
        .and(path("/voids"))
        .respond_with(voided())
        .with_priority(2)
        .mount(&app.payment)
        .await;

    let resp = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(resp.status(), 502);
    // The release and the void, the void after the background retries.
    app.settle_after(2).await;
    assert!(TestApp::calls(&app.payment, "POST", "/voids").await >= 5);
}

#[tokio::test]
async fn an_order_refused_by_orders_undoes_the_charge_and_the_hold() {
    let app = spawn_app().await;
    app.mount_reads().await;
    app.mount_hold_and_quote().await;
    app.mount_charge_ok().await;
    mount_release(&app).await;
    Mock::given(method("POST"))
        .and(path("/orders"))
        .respond_with(ResponseTemplate::new(409).set_body_json(error_json("order_conflict")))
        .mount(&app.orders)
        .await;
    Mock::given(method("POST"))
        .and(path("/voids"))
        .respond_with(voided())
        .expect(1)
        .mount(&app.payment)
        .await;
    let resp = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(TestApp::calls(&app.inventory, "POST", RELEASE).await, 1);
    assert_eq!(
        TestApp::calls(&app.inventory, "POST", "/reservations/co-1/commit").await,
        0
    );
}

#[tokio::test]
async fn an_order_with_an_unknown_outcome_is_finished_not_undone() {
    let app = spawn_app().await;
    app.mount_reads().await;
    app.mount_hold_and_quote().await;
    app.mount_charge_ok().await;
    // orders fails twice (the saga's call and one retry), then records it.
    Mock::given(method("POST"))
        .and(path("/orders"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&app.orders)
        .await;
    app.mount_after_charge().await;

    let resp = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(resp.status(), 202);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["state"], "pending");
    assert_eq!(body["result"]["status"], "pending");
    assert_eq!(body["status_url"], "/checkouts/co-1");
    app.settle().await;
    // Recorded, committed, emptied; never voided.
    assert!(TestApp::calls(&app.orders, "POST", "/orders").await >= 3);
    for _ in 0..40 {
        if TestApp::calls(&app.cart, "DELETE", "/carts/cart-1").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        TestApp::calls(&app.inventory, "POST", "/reservations/co-1/commit").await,
        1
    );
    assert_eq!(
        TestApp::calls(&app.cart, "DELETE", "/carts/cart-1").await,
        1
    );
    assert_eq!(TestApp::calls(&app.payment, "POST", "/voids").await, 0);
}

#[tokio::test]
async fn the_payment_circuit_opens_on_failures_and_closes_after_a_success() {
    let breaker = BreakerConfig {
        window: 4,
        min_calls: 4,
        failure_ratio: 0.5,
        cool_down: Duration::from_millis(300),
    };
    let app = spawn_with_breaker(Some(breaker)).await;
    app.mount_reads().await;
    app.mount_hold_and_quote().await;
    Mock::given(method("POST"))
        .and(path_regex("^/reservations/[^/]+/release$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reservation("released")))
        .mount(&app.inventory)
        .await;
    Mock::given(method("POST"))
        .and(path("/charges"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.payment)
        .await;
    Mock::given(method("POST"))
        .and(path("/voids"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.payment)
        .await;

    let mut codes = Vec::new();
    for i in 0..6 {
        let resp = app
            .checkout(&checkout_body_for(
                &format!("co-open-{i}"),
                "4242424242424242",
            ))
            .await;
        codes.push(error_code(resp).await);
    }
    // Open: checkouts fail fast without reaching payment.
    assert_eq!(
        codes.last().map(String::as_str),
        Some("upstream_unavailable"),
        "{codes:?}"
    );
    let charges_when_open = TestApp::calls(&app.payment, "POST", "/charges").await;
    assert!(
        charges_when_open < 6,
        "{charges_when_open} charges reached payment"
    );

    // Payment recovers; after the cool-down a trial call succeeds and closes the circuit.
    app.payment.reset().await;
    app.mount_charge_ok().await;
    Mock::given(method("POST"))
        .and(path("/voids"))
        .respond_with(voided())
        .mount(&app.payment)
        .await;
    app.mount_after_charge().await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let resp = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(resp.status(), 201);
    let resp = app
        .checkout(&checkout_body_for("co-closed", "4242424242424242"))
        .await;
    assert!(
        resp.status() == 201 || resp.status() == 200,
        "{}",
        resp.status()
    );
}
