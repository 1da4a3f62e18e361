use crate::helpers::spawn_app;

#[tokio::test]
async fn health_endpoints_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health/live").await.status(), 200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"][0]["name"], "product_store");
}

#[tokio::test]
async fn metrics_show_the_semconv_histogram_after_a_request() {
    let app = spawn_app().await;
    assert_eq!(app.get("/products/MU-0001").await.status(), 200);
    let text = app.get("/metrics").await.text().await.expect("text");
    assert!(
        text.lines().any(
            |l| l.starts_with("http_server_request_duration_seconds_bucket")
                && l.contains(r#"http_route="/products/{id}""#)
                && l.contains(r#"http_response_status_code="200""#)
        ),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_documents_the_routes() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    assert!(doc["paths"]["/products"].is_object());
    assert!(doc["paths"]["/products/{id}"].is_object());
}
