use crate::helpers::{request, spawn_app};

#[tokio::test]
async fn health_endpoints_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health/live").await.status(), 200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    let names: Vec<_> = body["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(
        names.contains(&"quote_store") && names.contains(&"database"),
        "{body}"
    );
}

#[tokio::test]
async fn metrics_count_quotes_by_zone() {
    let app = spawn_app().await;
    assert_eq!(
        app.quote(request("JP", &[("BK-0001", 1)])).await.status(),
        201
    );
    let text = app.get("/metrics").await.text().await.expect("text");
    assert!(
        text.lines()
            .any(|l| l.starts_with("shop_shipping_quotes_total") && l.contains(r#"zone="world""#)),
        "{text}"
    );
    assert!(
        text.lines().any(
            |l| l.starts_with("http_server_request_duration_seconds_bucket")
                && l.contains(r#"http_route="/quotes""#)
                && l.contains(r#"http_response_status_code="201""#)
        ),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_documents_the_routes() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    assert!(doc["paths"]["/quotes"].is_object());
    assert!(doc["paths"]["/quotes/{quote_id}"].is_object());
}
