//! Checkout and orders.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{TestApp, error_code, error_json, spawn_app, spawn_with, unreachable_url};

const CART: &str = "7d0a3c52-8f1e-4c4b-9a51-2b7c9e0f6d13";
const CARD_NUMBER: &str = "4242424242424242";

fn checkout_body() -> Value {
    json!({
        "cart_id": CART,
        "card": {"number": CARD_NUMBER, "expiry_month": 12, "expiry_year": 2030, "cvc": "123"},
        "shipping": {"country": "DE"}
    })
}

pub fn checkout_result(order_id: &str) -> Value {
    json!({
        "order_id": order_id, "status": "placed",
        "lines": [{"product_id": "BK-0001", "title": "Dracula",
                   "unit_price": {"amount_minor": 1099, "currency": "EUR"}, "quantity": 2}],
        "shipping": {"amount_minor": 499, "currency": "EUR"},
        "total": {"amount_minor": 2697, "currency": "EUR"},
        "charge_id": "ch_1", "carrier": "DHL", "eta_days": 3
    })
}

async fn post_checkout(app: &TestApp, key: Option<&str>) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url("/api/checkout"))
        .json(&checkout_body());
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn the_idempotency_key_becomes_the_checkout_id_and_the_result_is_relayed() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path("/checkouts"))
        .respond_with(ResponseTemplate::new(201).set_body_json(checkout_result("order-42")))
        .expect(1)
        .mount(&app.checkout)
        .await;
    let resp = post_checkout(&app, Some("order-42")).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(
        resp.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/api/orders/order-42")
    );
    let result: Value = resp.json().await.expect("json");
    assert_eq!(result["order_id"], "order-42");
    assert_eq!(result["total"]["amount_minor"], 2697);

    let sent = app.checkout.received_requests().await.unwrap_or_default();
    let sent: Value = serde_json::from_slice(&sent[0].body).expect("json");
    assert_eq!(sent["checkout_id"], "order-42");
    assert_eq!(sent["cart_id"], CART);
    assert_eq!(
        sent["card"]["number"], CARD_NUMBER,
        "the card goes to checkout"
    );
    assert_eq!(sent["shipping"]["country"], "DE");
}

#[tokio::test]
async fn without_a_key_a_fresh_uuid_is_the_checkout_id() {
    let app = spawn_app().await;
    Mock::given(path("/checkouts"))
        .respond_with(ResponseTemplate::new(201).set_body_json(checkout_result("x")))
        .mount(&app.checkout)
        .await;
    assert_eq!(post_checkout(&app, None).await.status(), 201);
    assert_eq!(post_checkout(&app, None).await.status(), 201);
    let sent = app.checkout.received_requests().await.unwrap_or_default();
    let ids: Vec<String> = sent
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).expect("json");
            body["checkout_id"].as_str().expect("id").to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    assert!(ids.iter().all(|id| id.len() == 36), "{ids:?}");
}

#[tokio::test]
async fn a_malformed_key_or_cart_id_is_400_and_nothing_is_charged() {
    let app = spawn_app().await;
    let resp = post_checkout(&app, Some("key with spaces")).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "invalid_id");
    let resp = post_checkout(&app, Some(&"k".repeat(65))).await;
    assert_eq!(resp.status(), 400);
    let mut body = checkout_body();
    body["cart_id"] = json!("");
    let resp = app.post_json("/api/checkout", &body).await;
    assert_eq!(resp.status(), 400);
    let resp = app
        .post_json("/api/checkout", &json!({"cart_id": CART}))
        .await;
    assert_eq!(resp.status(), 422, "no card");
    assert_eq!(TestApp::received(&app.checkout).await, 0);
}

#[tokio::test]
async fn a_declined_card_is_relayed_with_its_reason() {
    let app = spawn_app().await;
    Mock::given(path("/checkouts"))
        .respond_with(ResponseTemplate::new(402).set_body_json(error_json(
            "insufficient_funds",
            "the card has insufficient funds",
        )))
        .mount(&app.checkout)
        .await;
    let resp = post_checkout(&app, Some("order-43")).await;
    assert_eq!(resp.status(), 402);
    assert_eq!(error_code(resp).await, "insufficient_funds");
}

#[tokio::test]
async fn an_empty_cart_is_relayed_409() {
    let app = spawn_app().await;
    Mock::given(path("/checkouts"))
        .respond_with(
            ResponseTemplate::new(409).set_body_json(error_json("cart_empty", "the cart is empty")),
        )
        .mount(&app.checkout)
        .await;
    let resp = post_checkout(&app, None).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error_code(resp).await, "cart_empty");
}

#[tokio::test]
async fn an_unreachable_checkout_is_503() {
    let app = spawn_with(|c| c.checkout.url = unreachable_url()).await;
    let resp = post_checkout(&app, Some("order-44")).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(error_code(resp).await, "upstream_unavailable");
}

#[tokio::test]
async fn a_failing_checkout_is_sent_once_and_never_retried() {
    let app = spawn_app().await;
    Mock::given(path("/checkouts"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&app.checkout)
        .await;
    let resp = post_checkout(&app, Some("order-45")).await;
    assert_eq!(resp.status(), 502);
    assert_eq!(TestApp::received(&app.checkout).await, 1);
}

#[tokio::test]
async fn the_card_never_reaches_the_metrics() {
    let app = spawn_app().await;
    Mock::given(path("/checkouts"))
        .respond_with(ResponseTemplate::new(201).set_body_json(checkout_result("order-46")))
        .mount(&app.checkout)
        .await;
    assert_eq!(post_checkout(&app, Some("order-46")).await.status(), 201);
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(!metrics.contains(CARD_NUMBER));
    assert!(
        metrics.contains(r#"http_route="/checkouts""#),
        "the call was measured"
    );
}

#[tokio::test]
async fn an_order_is_read_back_and_an_unknown_one_is_404() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/orders/order-42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_json("order-42")))
        .mount(&app.orders)
        .await;
    Mock::given(method("GET"))
        .and(path("/orders/order-404"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(error_json("unknown_order", "no such order")),
        )
        .mount(&app.orders)
        .await;
    let resp = app.get("/api/orders/order-42").await;
    assert_eq!(resp.status(), 200);
    let order: Value = resp.json().await.expect("json");
    assert_eq!(order["total"]["amount_minor"], 2697);
    let resp = app.get("/api/orders/order-404").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(error_code(resp).await, "unknown_order");
    assert_eq!(app.get("/api/orders/a%2Fb").await.status(), 400);
}

pub fn order_json(order_id: &str) -> Value {
    json!({
        "order_id": order_id, "seq": 1, "status": "placed", "cart_id": CART,
        "lines": [{"product_id": "BK-0001", "title": "<i>Dracula</i>",
                   "unit_price": {"amount_minor": 1099, "currency": "EUR"}, "quantity": 2}],
        "shipping": {"amount_minor": 499, "currency": "EUR"},
        "total": {"amount_minor": 2697, "currency": "EUR"},
        "charge_id": "ch_1", "reservation_id": order_id, "quote_id": "q1",
        "created_at_ms": 1
    })
}

#[tokio::test]
async fn an_unfinished_checkout_is_202_with_a_status_url_on_the_shop_api() {
    let app = spawn_app().await;
    let running = json!({
        "checkout_id": "order-7", "order_id": "order-7", "state": "running",
        "status_url": "/checkouts/order-7", "log": []
    });
    Mock::given(method("POST"))
        .and(path("/checkouts"))
        .respond_with(ResponseTemplate::new(202).set_body_json(&running))
        .mount(&app.checkout)
        .await;
    let mut placed = running.clone();
    placed["state"] = "placed".into();
    placed["result"] = checkout_result("order-7");
    Mock::given(method("GET"))
        .and(path("/checkouts/order-7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&placed))
        .mount(&app.checkout)
        .await;
    let resp = post_checkout(&app, Some("order-7")).await;
    assert_eq!(resp.status(), 202);
    assert_eq!(
        resp.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/api/checkouts/order-7")
    );
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["state"], "running");
    assert_eq!(body["status_url"], "/api/checkouts/order-7");

    let status: Value = app
        .get("/api/checkouts/order-7")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(status["state"], "placed");
    assert_eq!(status["result"]["total"]["amount_minor"], 2697);
    assert_eq!(status["status_url"], "/api/checkouts/order-7");

    Mock::given(method("GET"))
        .and(path("/checkouts/nope"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(error_json("checkout_not_found", "no checkout with this id")),
        )
        .mount(&app.checkout)
        .await;
    let missing = app.get("/api/checkouts/nope").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(error_code(missing).await, "checkout_not_found");
    assert_eq!(app.get("/api/checkouts/..%2Fx").await.status(), 400);
}
