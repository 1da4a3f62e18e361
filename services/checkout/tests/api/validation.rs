//! Bad input is a 4xx with the JSON error body, and reaches no downstream.

use crate::helpers::{checkout_body, error_code, spawn_app};

#[tokio::test]
async fn malformed_requests_are_refused_at_the_edge() {
    let app = spawn_app().await;
    let mut bad_id = checkout_body("4242424242424242");
    bad_id["checkout_id"] = "../etc".into();
    let mut bad_cart = checkout_body("4242424242424242");
    bad_cart["cart_id"] = "".into();
    let mut bad_country = checkout_body("4242424242424242");
    bad_country["shipping"]["country"] = "Germany".into();
    let mut no_card = checkout_body("4242424242424242");
    no_card.as_object_mut().map(|o| o.remove("card"));
    for (body, status, code) in [
        (bad_id, 422, "invalid_checkout_id"),
        (bad_cart, 422, "invalid_cart_id"),
        (bad_country, 422, "invalid_country"),
        (no_card, 422, "invalid_body"),
    ] {
        let resp = app.checkout(&body).await;
        assert_eq!(resp.status(), status, "{body}");
        assert_eq!(error_code(resp).await, code);
    }
    let resp = app
        .http
        .post(format!("{}/checkouts", app.address))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 400);
    let resp = app
        .http
        .post(format!("{}/checkouts", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("cart_id=x")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 415);
    let big = "x".repeat(2 * 1024 * 1024);
    let resp = app
        .http
        .post(format!("{}/checkouts", app.address))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 413);
    assert_eq!(error_code(resp).await, "body_too_large");
    for server in [&app.cart, &app.inventory, &app.payment, &app.orders] {
        assert!(
            server
                .received_requests()
                .await
                .unwrap_or_default()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn operational_routes_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health/live").await.status(), 200);
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("doc");
    assert!(doc["paths"]["/checkouts"]["post"].is_object());
    let status: serde_json::Value = app.get("/compensations").await.json().await.expect("json");
    assert_eq!(status["pending"], 0);
}
