use axum::body::Body;
use orders::routes::AppState;
use orders::store::OrderStore;
use tower::ServiceExt;

use crate::helpers::{metric_value, order, order_in, spawn_app};

#[tokio::test]
async fn health_endpoints_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health/live").await.status(), 200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"][0]["name"], "database");
}

#[tokio::test]
async fn metrics_count_new_orders_only() {
    let app = spawn_app().await;
    // XTS (the ISO code reserved for testing) is used by no other test in this binary, so its
    // revenue series is exact even though the recorder is shared by every test.
    let revenue = r#"shop_revenue_minor_total{currency="XTS"}"#;
    assert_eq!(app.place(&order_in("m-1", "XTS")).await.status(), 201);
    let text = app.get("/metrics").await.text().await.expect("metrics");
    assert_eq!(metric_value(&text, revenue), 3045.0, "{text}");
    let placed = metric_value(&text, "shop_orders_placed_total");
    let units = metric_value(&text, "shop_order_units_total");
    assert!(placed >= 1.0 && units >= 3.0, "{text}");

    // A replay and a conflict record nothing.
    assert_eq!(app.place(&order_in("m-1", "XTS")).await.status(), 200);
    let mut conflicting = order_in("m-1", "XTS");
    conflicting["quote_id"] = serde_json::json!("q-2");
    assert_eq!(app.place(&conflicting).await.status(), 409);
    let text = app.get("/metrics").await.text().await.expect("metrics");
    assert_eq!(metric_value(&text, revenue), 3045.0, "{text}");

    assert_eq!(app.place(&order_in("m-2", "XTS")).await.status(), 201);
    let text = app.get("/metrics").await.text().await.expect("metrics");
    assert_eq!(metric_value(&text, revenue), 6090.0, "{text}");
    assert!(metric_value(&text, "shop_orders_placed_total") >= placed + 1.0);
    assert!(metric_value(&text, "shop_order_units_total") >= units + 3.0);
    assert!(
        text.lines().any(
            |l| l.starts_with("http_server_request_duration_seconds_bucket")
                && l.contains(r#"http_route="/orders""#)
                && l.contains(r#"http_response_status_code="201""#)
        ),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_documents_every_route() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    assert!(doc["paths"]["/orders"]["get"].is_object());
    assert!(doc["paths"]["/orders"]["post"].is_object());
    assert!(doc["paths"]["/orders/summary"]["get"].is_object());
    assert!(doc["paths"]["/orders/{order_id}"]["get"].is_object());
}

#[tokio::test]
async fn the_router_serves_without_a_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = OrderStore::open(dir.path()).expect("open");
    let router = orders::startup::service(AppState::new(store)).router();
    let req = axum::http::Request::post("/orders")
        .header("content-type", "application/json")
        .body(Body::from(order("o-1").to_string()))
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("response");
    assert_eq!(resp.status(), 201);
    let req = axum::http::Request::get("/orders/summary")
        .body(Body::empty())
        .expect("request");
    let resp = router.oneshot(req).await.expect("response");
    assert_eq!(resp.status(), 200);
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    let summary: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(summary["orders"], 1);
}
