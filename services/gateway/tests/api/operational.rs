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

#[tokio::test]
async fn the_edge_sheds_past_its_configured_limit_with_a_fast_503() {
    let app = crate::helpers::spawn_with(|config| config.max_in_flight = 2).await;
    // Each admitted page holds its permit while catalog takes 250 ms to answer.
    Mock::given(path("/products/BK-0001"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(product_json("BK-0001"))
                .set_delay(std::time::Duration::from_millis(250)),
        )
        .mount(&app.catalog)
        .await;
    let page = "/api/products/BK-0001";
    let answers = tokio::join!(
        app.get(page),
        app.get(page),
        app.get(page),
        app.get(page),
        app.get(page),
        app.get(page)
    );
    let answers = [
        answers.0, answers.1, answers.2, answers.3, answers.4, answers.5,
    ];
    let mut served = 0;
    let mut shed = 0;
    for answer in answers {
        match answer.status().as_u16() {
            200 => served += 1,
            503 => {
                assert_eq!(crate::helpers::error_code(answer).await, "overloaded");
                shed += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        (1..=2).contains(&served),
        "at most the limit served at once: {served}"
    );
    assert_eq!(shed, 6 - served, "the rest shed");
}
