use crate::helpers::{charge_body, new_key, spawn_app};

#[tokio::test]
async fn health_endpoints_answer_and_readiness_checks_the_ledger() {
    let (app, _dir) = spawn_app().await;
    assert_eq!(app.get("/health/live").await.status(), 200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"][0]["name"], "database");
}

#[tokio::test]
async fn metrics_are_exported() {
    let (app, _dir) = spawn_app().await;
    assert_eq!(
        app.charge(&charge_body(&new_key(), "4242424242424242", 100))
            .await
            .status(),
        201
    );
    assert_eq!(
        app.charge(&charge_body(&new_key(), "4000000000000002", 100))
            .await
            .status(),
        402
    );
    let key = new_key();
    assert_eq!(
        app.charge(&charge_body(&key, "4242424242424242", 100))
            .await
            .status(),
        201
    );
    assert_eq!(app.void(&key).await.status(), 200);
    let text = app.get("/metrics").await.text().await.expect("text");
    for expected in [
        "shop_payments_captured_total ",
        "shop_payments_voided_total ",
        r#"shop_payment_captured_minor_total{currency="EUR"}"#,
        r#"shop_payment_voided_minor_total{currency="EUR"}"#,
        r#"shop_payment_failures_total{reason="card_declined"}"#,
        r#"shop_payment_failures_total{reason="invalid_cvc"}"#,
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    assert!(
        text.lines().any(
            |l| l.starts_with("http_server_request_duration_seconds_bucket")
                && l.contains(r#"http_route="/charges""#)
        ),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_documents_the_routes() {
    let (app, _dir) = spawn_app().await;
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    for path in ["/charges", "/charges/{charge_id}", "/voids", "/ledger"] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert!(doc["components"]["schemas"]["ChargeRequest"].is_object());
}
