use serde_json::json;

use crate::helpers::{charge_body, error_of, new_key, spawn_app};

#[tokio::test]
async fn every_malformed_card_or_amount_is_a_422_with_its_code() {
    let (app, _dir) = spawn_app().await;
    let with = |path: &[&str], value: serde_json::Value| {
        let mut body = charge_body(&new_key(), "4242424242424242", 1000);
        let mut slot = &mut body;
        for p in path {
            slot = &mut slot[*p];
        }
        *slot = value;
        body
    };
    let cases = [
        (
            with(&["card", "number"], "4242424242424241".into()),
            "invalid_card_number",
        ),
        (
            with(&["card", "number"], "42424242424".into()),
            "invalid_card_number",
        ),
        (
            with(&["card", "number"], "4".repeat(20).into()),
            "invalid_card_number",
        ),
        (
            with(&["card", "number"], "4242x24242424242".into()),
            "invalid_card_number",
        ),
        (with(&["card", "number"], "".into()), "invalid_card_number"),
        (with(&["card", "expiry_month"], 0.into()), "invalid_expiry"),
        (with(&["card", "expiry_month"], 13.into()), "invalid_expiry"),
        (
            with(&["card", "expiry_month"], 300.into()),
            "invalid_expiry",
        ),
        (
            with(&["card", "expiry_year"], 1999.into()),
            "invalid_expiry",
        ),
        (
            with(&["card", "expiry_year"], 2100.into()),
            "invalid_expiry",
        ),
        (with(&["card", "expiry_year"], 30.into()), "invalid_expiry"),
        (with(&["card", "cvc"], "12".into()), "invalid_cvc"),
        (with(&["card", "cvc"], "12345".into()), "invalid_cvc"),
        (with(&["card", "cvc"], "1a3".into()), "invalid_cvc"),
        (
            with(&["amount", "amount_minor"], 0.into()),
            "invalid_amount",
        ),
        (
            with(&["amount", "amount_minor"], (-100).into()),
            "invalid_amount",
        ),
    ];
    for (body, expected) in cases {
        let resp = app.charge(&body).await;
        assert_eq!(resp.status(), 422, "{expected}: {body}");
        let (code, message) = error_of(resp).await;
        assert_eq!(code, expected, "{body}");
        let number = body["card"]["number"].as_str().expect("number");
        assert!(number.is_empty() || !message.contains(number), "{message}");
    }
}

#[tokio::test]
async fn malformed_idempotency_keys_are_a_400() {
    let (app, _dir) = spawn_app().await;
    for key in ["", "has space", "a/b", "ключ", &"k".repeat(65)] {
        let resp = app
            .charge(&charge_body(key, "4242424242424242", 1000))
            .await;
        assert_eq!(resp.status(), 400, "{key:?}");
        assert_eq!(error_of(resp).await.0, "invalid_idempotency_key");
        let resp = app.void(key).await;
        assert_eq!(resp.status(), 400, "void {key:?}");
        assert_eq!(error_of(resp).await.0, "invalid_idempotency_key");
    }
    assert_eq!(
        app.charge(&charge_body(&"k".repeat(64), "4242424242424242", 1000))
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_never_echoes_card_data() {
    let (app, _dir) = spawn_app().await;
    // The number as a JSON integer: serde would quote it in its message.
    let body = json!({
        "idempotency_key": new_key(),
        "amount": { "amount_minor": 100, "currency": "EUR" },
        "card": { "number": 4242424242424242u64, "expiry_month": 12, "expiry_year": 2099, "cvc": 987 }
    });
    let resp = app.charge(&body).await;
    assert_eq!(resp.status(), 422);
    let (code, message) = error_of(resp).await;
    assert_eq!(code, "invalid_body");
    assert!(!message.contains("4242424242424242"), "{message}");
    assert!(!message.contains("987"), "{message}");

    let missing = json!({ "idempotency_key": new_key(), "amount": { "amount_minor": 100, "currency": "EUR" } });
    let resp = app.charge(&missing).await;
    assert_eq!(resp.status(), 422);
    let (code, message) = error_of(resp).await;
    assert_eq!(code, "invalid_body");
    assert!(message.contains("card"), "{message}");

    let resp = app
        .http
        .post(format!("{}/charges", app.address))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 400);
    let resp = app
        .http
        .post(format!("{}/charges", app.address))
        .body("idempotency_key=x")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 415);
}

#[tokio::test]
async fn a_malformed_request_records_nothing() {
    let (app, _dir) = spawn_app().await;
    let key = new_key();
    let mut bad = charge_body(&key, "4242424242424242", 1000);
    bad["card"]["cvc"] = "1".into();
    assert_eq!(app.charge(&bad).await.status(), 422);
    // The key is still fresh: a corrected request is a new charge.
    assert_eq!(
        app.charge(&charge_body(&key, "4242424242424242", 1000))
            .await
            .status(),
        201
    );
}
