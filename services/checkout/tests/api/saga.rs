//! The saga's happy path and its refusals.

use std::time::Duration;

use apiary_wire::shop::CheckoutResult;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{CHECKOUT_ID, TestApp, checkout_body, error_code, error_json, spawn_app};

const RELEASE: &str = "/reservations/co-1/release";

#[tokio::test]
async fn a_checkout_reserves_quotes_charges_records_commits_and_empties() {
    let app = spawn_app().await;
    app.mount_reads().await;
    app.mount_hold_and_quote().await;
    app.mount_charge_ok().await;
    app.mount_after_charge().await;

    let resp = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(resp.status(), 201);
    let result: CheckoutResult = resp.json().await.expect("result");
    assert_eq!(result.order_id, CHECKOUT_ID);
    assert_eq!(result.total.amount_minor, 4990);
    assert_eq!((result.carrier.as_str(), result.eta_days), ("DHL", 2));

    // The charge is the lines' sum at catalog prices plus shipping, keyed by the checkout id.
    let charges = app.payment.received_requests().await.unwrap_or_default();
    let charge: Value = serde_json::from_slice(&charges[0].body).expect("charge body");
    assert_eq!(charge["amount"]["amount_minor"], 2 * 1000 + 2500 + 490);
    assert_eq!(charge["idempotency_key"], CHECKOUT_ID);
    // The reservation and the order carry the same id.
    let holds = app.inventory.received_requests().await.unwrap_or_default();
    let hold: Value = serde_json::from_slice(&holds[0].body).expect("hold body");
    assert_eq!(hold["reservation_id"], CHECKOUT_ID);
    let orders = app.orders.received_requests().await.unwrap_or_default();
    let order = orders
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .expect("order recorded");
    let order: Value = serde_json::from_slice(&order.body).expect("order body");
    assert_eq!(order["order_id"], CHECKOUT_ID);
    assert_eq!(order["charge_id"], "ch_1");
    assert_eq!(order["total"]["amount_minor"], 4990);

    assert_eq!(
        TestApp::calls(&app.inventory, "POST", "/reservations/co-1/commit").await,
        1
    );
    assert_eq!(
        TestApp::calls(&app.cart, "DELETE", "/carts/cart-1").await,
        1
    );
    assert_eq!(TestApp::calls(&app.inventory, "POST", RELEASE).await, 0);
    assert_eq!(TestApp::calls(&app.payment, "POST", "/voids").await, 0);
}

#[tokio::test]
async fn a_declined_card_releases_the_stock_and_relays_the_reason() {
    let app = spawn_app().await;
    app.mount_reads().await;
    app.mount_hold_and_quote().await;
    Mock::given(method("POST"))
        .and(path("/charges"))
        .respond_with(ResponseTemplate::new(402).set_body_json(error_json("insufficient_funds")))
        .mount(&app.payment)
        .await;
    Mock::given(method("POST"))
        .and(path(RELEASE))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(crate::helpers::reservation("released")),
        )
        .expect(1)
        .mount(&app.inventory)
        .await;

    let resp = app.checkout(&checkout_body("4000000000009995")).await;
    assert_eq!(resp.status(), 402);
    assert_eq!(error_code(resp).await, "insufficient_funds");
    // A refusal is definitive: nothing was charged, so nothing is voided; no order.
    assert_eq!(TestApp::calls(&app.payment, "POST", "/voids").await, 0);
    assert_eq!(TestApp::calls(&app.orders, "POST", "/orders").await, 0);
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("shop_orders_failed_total{reason=\"insufficient_funds\"}"),
        "{metrics}"
    );
    assert!(!metrics.contains("4000000000009995"));
}

#[tokio::test]
async fn out_of_stock_is_relayed_and_nothing_else_happens() {
    let app = spawn_app().await;
    app.mount_reads().await;
    Mock::given(method("POST"))
        .and(path("/reservations"))
        .respond_with(ResponseTemplate::new(409).set_body_json(error_json("out_of_stock")))
        .mount(&app.inventory)
        .await;
    let resp = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error_code(resp).await, "out_of_stock");
    assert_eq!(TestApp::calls(&app.inventory, "POST", RELEASE).await, 0);
    assert!(
        app.payment
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
    assert!(
        app.shipping
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn an_unserved_destination_releases_the_stock() {
    let app = spawn_app().await;
    app.mount_reads().await;
    Mock::given(method("POST"))
        .and(path("/reservations"))
        .respond_with(ResponseTemplate::new(201).set_body_json(crate::helpers::reservation("held")))
        .mount(&app.inventory)
        .await;
    Mock::given(method("POST"))
        .and(path("/quotes"))
        .respond_with(
            ResponseTemplate::new(422).set_body_json(error_json("unsupported_destination")),
        )
        .mount(&app.shipping)
        .await;
    Mock::given(method("POST"))
        .and(path(RELEASE))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(crate::helpers::reservation("released")),
        )
        .expect(1)
        .mount(&app.inventory)
        .await;
    let resp = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_code(resp).await, "unsupported_destination");
}

#[tokio::test]
async fn an_empty_cart_is_a_conflict_before_anything_is_held() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/carts/cart-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"cart_id": "cart-1", "items": []})),
        )
        .mount(&app.cart)
        .await;
    let resp = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error_code(resp).await, "cart_empty");
    assert!(
        app.inventory
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn a_product_no_longer_sold_stops_the_checkout() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/carts/cart-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "cart_id": "cart-1", "items": [{"product_id": "BK-0999", "quantity": 1}]
        })))
        .mount(&app.cart)
        .await;
    Mock::given(method("GET"))
        .and(path("/products"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "items": [], "total": 0, "limit": 1, "offset": 0
        })))
        .mount(&app.catalog)
        .await;
    let resp = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error_code(resp).await, "product_unavailable");
}

#[tokio::test]
async fn a_checkout_knows_its_own_sagas_and_never_asks_orders_first() {
    let app = spawn_app().await;
    app.mount_reads().await;
    app.mount_hold_and_quote().await;
    app.mount_charge_ok().await;
    app.mount_after_charge().await;
    let resp = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(resp.status(), 201);
    // The old pre-check (GET /orders/{id}, a 404 on every checkout) is gone.
    let asked = app.orders.received_requests().await.unwrap_or_default();
    assert!(
        asked.iter().all(|r| r.method.as_str() != "GET"),
        "{asked:?}"
    );

    // The replay answers from the saga log: 200, the same order, nothing called again.
    let again = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(again.status(), 200);
    let result: CheckoutResult = again.json().await.expect("result");
    assert_eq!(
        (result.order_id.as_str(), result.charge_id.as_str()),
        (CHECKOUT_ID, "ch_1")
    );
    assert_eq!(TestApp::calls(&app.payment, "POST", "/charges").await, 1);
    assert_eq!(TestApp::calls(&app.orders, "POST", "/orders").await, 1);
    assert_eq!(TestApp::calls(&app.cart, "GET", "/carts/cart-1").await, 1);

    // Its log shows every step's intent and outcome.
    let status: Value = app
        .get("/checkouts/co-1")
        .await
        .json()
        .await
        .expect("status");
    assert_eq!(status["state"], "placed");
    assert_eq!(status["result"]["order_id"], CHECKOUT_ID);
    let steps: Vec<String> = status["log"]
        .as_array()
        .expect("log")
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["step"].as_str().unwrap_or(""),
                e["phase"].as_str().unwrap_or("")
            )
        })
        .collect();
    for step in [
        "read_cart",
        "price_items",
        "reserve_stock",
        "quote_shipping",
        "charge_payment",
        "record_order",
    ] {
        assert!(steps.contains(&format!("{step}:intent")), "{steps:?}");
        assert!(steps.contains(&format!("{step}:done")), "{steps:?}");
    }
    assert!(steps.contains(&"commit_stock:done".to_owned()), "{steps:?}");
}

#[tokio::test]
async fn a_slow_cart_is_a_504_not_a_hang() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/carts/cart-1"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&app.cart)
        .await;
    let resp = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(resp.status(), 504);
    assert_eq!(error_code(resp).await, "upstream_timeout");
}

#[tokio::test]
async fn a_malformed_or_failing_peer_is_a_502_and_nothing_is_held() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/carts/cart-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "cart_id": "cart-1", "items": [{"product_id": "BK-0001", "quantity": 1}]
        })))
        .mount(&app.cart)
        .await;
    // The catalog answers 200 with something that is not a product page.
    Mock::given(method("GET"))
        .and(path("/products"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"items\": 42"))
        .mount(&app.catalog)
        .await;
    let resp = app.checkout(&checkout_body("4242424242424242")).await;
    assert_eq!(resp.status(), 502);
    assert_eq!(error_code(resp).await, "upstream_error");
    assert!(
        app.inventory
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );

    // A 500 from the cart is the same kind of answer.
    app.cart.reset().await;
    Mock::given(method("GET"))
        .and(path("/carts/cart-1"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.cart)
        .await;
    let resp = app
        .checkout(&crate::helpers::checkout_body_for(
            "co-2",
            "4242424242424242",
        ))
        .await;
    assert_eq!(resp.status(), 502);
    assert!(
        app.payment
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}
