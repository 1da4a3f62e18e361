use wiremock::matchers::path;
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{product_json, spawn_app};

#[tokio::test]
async fn ready_when_the_catalog_is_live() {
    let app = spawn_app().await;
    Mock::given(path("/health/live"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&app.catalog)
        .await;
    assert_eq!(app.get("/health/live").await.status(), 200);
    assert_eq!(app.get("/health/ready").await.status(), 200);
}

#[tokio::test]
async fn metrics_show_server_and_client_histograms() {
    let app = spawn_app().await;
    Mock::given(path("/products/BK-0001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(product_json("BK-0001")))
        .mount(&app.catalog)
        .await;
    assert_eq!(app.get("/api/products/BK-0001").await.status(), 200);
    let text = app.get("/metrics").await.text().await.expect("text");
    assert!(
        text.lines().any(
            |l| l.starts_with("http_server_request_duration_seconds_bucket")
                && l.contains(r#"http_route="/api/products/{id}""#)
        ),
        "{text}"
    );
    assert!(
        text.lines().any(
            |l| l.starts_with("http_client_request_duration_seconds_bucket")
                && l.contains(r#"http_route="/products/{id}""#)
                && l.contains(r#"server_address="catalog""#)
        ),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_documents_the_shopper_routes() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    assert!(doc["paths"]["/api/products"].is_object());
    assert!(doc["paths"]["/api/products/{id}"].is_object());
}
