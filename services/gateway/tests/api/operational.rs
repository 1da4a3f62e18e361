use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{product_json, spawn_app};

async fn live(server: &MockServer) {
    Mock::given(path("/health/live"))
        .respond_with(ResponseTemplate::new(200))
        .mount(server)
        .await;
}

#[tokio::test]
async fn ready_when_catalog_cart_and_checkout_are_live() {
    let app = spawn_app().await;
    live(&app.catalog).await;
    live(&app.cart).await;
    live(&app.checkout).await;
    // Reviews, recommendations, inventory and orders answer nothing: not required.
    assert_eq!(app.get("/health/live").await.status(), 200);
    assert_eq!(app.get("/health/ready").await.status(), 200);
}

#[tokio::test]
async fn not_ready_without_the_checkout() {
    let app = spawn_app().await;
    live(&app.catalog).await;
    live(&app.cart).await;
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["failed"], serde_json::json!(["checkout"]));
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
    for route in [
        "/api/categories",
        "/api/products",
        "/api/products/{id}",
        "/api/carts",
        "/api/carts/{cart_id}",
        "/api/carts/{cart_id}/items",
        "/api/carts/{cart_id}/items/{product_id}",
        "/api/checkout",
        "/api/orders/{order_id}",
    ] {
        assert!(doc["paths"][route].is_object(), "{route} undocumented");
    }
    let put = &doc["paths"]["/api/carts/{cart_id}/items/{product_id}"];
    assert!(put["put"].is_object() && put["delete"].is_object());
    for schema in [
        "ProductPageView",
        "CartView",
        "CheckoutBody",
        "CheckoutResult",
        "Order",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} undocumented"
        );
    }
}

#[tokio::test]
async fn unknown_api_routes_are_json_404s() {
    let app = spawn_app().await;
    let resp = app.get("/api/nothing").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(crate::helpers::error_code(resp).await, "not_found");
}
