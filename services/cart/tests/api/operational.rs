use crate::helpers::spawn_app;

#[tokio::test]
async fn health_endpoints_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health/live").await.status(), 200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["checks"][0]["name"], "cart_store");
}

#[tokio::test]
async fn metrics_show_cart_activity_and_the_route_histogram() {
    let app = spawn_app().await;
    assert_eq!(app.add("m1", "BK-0001", 3).await.status(), 200);
    let text = app.get("/metrics").await.text().await.expect("text");
    for name in [
        "shop_cart_additions_total",
        "shop_carts_active",
        "shop_cart_units",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{text}"
        );
    }
    assert!(
        text.lines().any(
            |l| l.starts_with("http_server_request_duration_seconds_bucket")
                && l.contains(r#"http_route="/carts/{cart_id}/items""#)
        ),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_documents_the_routes() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    for path in [
        "/carts/{cart_id}",
        "/carts/{cart_id}/items",
        "/carts/{cart_id}/items/{product_id}",
        "/carts/stats",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
}
