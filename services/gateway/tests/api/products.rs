use std::time::Duration;

use apiary_wire::ProductPage;
use gateway::storefront::ProductPageView;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    CATALOG_TIMEOUT, TestApp, error_code, product_json, spawn_app, spawn_with_catalog_url,
    unreachable_url,
};

#[tokio::test]
async fn listing_forwards_only_the_known_filters() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/products"))
        .and(query_param("category", "books"))
        .and(query_param("q", "stoker"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "items": [product_json("BK-0006")], "total": 1, "limit": 20, "offset": 0
        })))
        .expect(1)
        .mount(&app.catalog)
        .await;
    let resp = app
        .get("/api/products?category=books&q=stoker&ignored=1")
        .await;
    assert_eq!(resp.status(), 200);
    let page: ProductPage = resp.json().await.expect("page");
    assert_eq!(page.items[0].id, "BK-0006");
}

#[tokio::test]
async fn a_product_is_fetched_by_id() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/products/BK-0006"))
        .respond_with(ResponseTemplate::new(200).set_body_json(product_json("BK-0006")))
        .mount(&app.catalog)
        .await;
    let page: ProductPageView = app
        .get("/api/products/BK-0006")
        .await
        .json()
        .await
        .expect("product page");
    assert_eq!(page.product.title, "Dracula");
}

#[tokio::test]
async fn the_catalogs_verdict_on_bad_input_is_relayed() {
    let app = spawn_app().await;
    Mock::given(path("/products/BK-9999"))
        .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({
            "error": {"code": "product_not_found", "message": "no product with id BK-9999"}
        })))
        .mount(&app.catalog)
        .await;
    let resp = app.get("/api/products/BK-9999").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(error_code(resp).await, "product_not_found");
}

#[tokio::test]
async fn an_overlong_id_is_refused_without_a_downstream_call() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&app.catalog)
        .await;
    let resp = app.get(&format!("/api/products/{}", "A".repeat(65))).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "invalid_id");
    let resp = app.get("/api/products/BK%200001").await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "invalid_id");
}

#[tokio::test]
async fn catalog_failures_map_to_gateway_errors_never_a_panic() {
    let app = spawn_app().await;
    Mock::given(path("/products/BK-0500"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.catalog)
        .await;
    Mock::given(path("/products/BK-0501"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{not json"))
        .mount(&app.catalog)
        .await;
    Mock::given(path("/products/BK-0502"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(product_json("BK-0502"))
                .set_delay(CATALOG_TIMEOUT + Duration::from_millis(500)),
        )
        .mount(&app.catalog)
        .await;
    Mock::given(path("/products/BK-0503"))
        .respond_with(ResponseTemplate::new(418).set_body_string("teapot"))
        .mount(&app.catalog)
        .await;
    for (id, status, code) in [
        ("BK-0500", 502, "upstream_error"),
        ("BK-0501", 502, "upstream_error"),
        ("BK-0502", 504, "upstream_timeout"),
        ("BK-0503", 502, "upstream_error"),
    ] {
        let resp = app.get(&format!("/api/products/{id}")).await;
        assert_eq!(resp.status(), status, "{id}");
        assert_eq!(error_code(resp).await, code, "{id}");
    }
}

#[tokio::test]
async fn an_unreachable_catalog_is_503_and_not_ready() {
    let app = spawn_with_catalog_url(unreachable_url()).await;
    for live in [&app.cart, &app.checkout] {
        Mock::given(path("/health/live"))
            .respond_with(ResponseTemplate::new(200))
            .mount(live)
            .await;
    }
    let resp = app.get("/api/products").await;
    assert_eq!(resp.status(), 503);
    assert_eq!(error_code(resp).await, "upstream_unavailable");
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["failed"], serde_json::json!(["catalog"]));
}

#[tokio::test]
async fn a_failing_catalog_opens_the_circuit_and_later_calls_fail_fast() {
    let app = spawn_app().await;
    Mock::given(path("/products/BK-0500"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.catalog)
        .await;
    for _ in 0..10 {
        assert_eq!(app.get("/api/products/BK-0500").await.status(), 502);
    }
    let before = TestApp::received(&app.catalog).await;
    for _ in 0..5 {
        let resp = app.get("/api/products/BK-0500").await;
        assert_eq!(resp.status(), 503);
        assert_eq!(error_code(resp).await, "upstream_unavailable");
    }
    let after = TestApp::received(&app.catalog).await;
    assert_eq!(
        before, after,
        "an open circuit sends nothing to the catalog"
    );
}

#[tokio::test]
async fn the_callers_deadline_reaches_the_catalog_and_bounds_the_wait() {
    let app = spawn_app().await;
    Mock::given(path("/products/BK-0001"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(product_json("BK-0001"))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&app.catalog)
        .await;
    let resp = app
        .http
        .get(format!("{}/api/products/BK-0001", app.address))
        .header("apiary-deadline-ms", "150")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 504);
    let received = app.catalog.received_requests().await.unwrap_or_default();
    let first = received.first().expect("the catalog was called");
    let budget: u64 = first
        .headers
        .get("apiary-deadline-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("deadline header forwarded");
    // Less than what is left: the callee's deadline passes a margin (a tenth) before ours.
    assert!(budget <= 135, "{budget}");
}

#[tokio::test]
async fn idempotent_reads_are_retried_through_a_503() {
    let app = spawn_app().await;
    Mock::given(path("/products/BK-0007"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&app.catalog)
        .await;
    Mock::given(path("/products/BK-0007"))
        .respond_with(ResponseTemplate::new(200).set_body_json(product_json("BK-0007")))
        .mount(&app.catalog)
        .await;
    assert_eq!(app.get("/api/products/BK-0007").await.status(), 200);
    assert_eq!(
        app.catalog.received_requests().await.map(|r| r.len()),
        Some(2)
    );
}

#[tokio::test]
async fn categories_come_from_the_catalog() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/categories"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "items": [{"name": "books", "count": 120}, {"name": "music", "count": 100}]
        })))
        .expect(1)
        .mount(&app.catalog)
        .await;
    let resp = app.get("/api/categories").await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["items"][0]["name"], "books");
    assert_eq!(body["items"][1]["count"], 100);
}

#[tokio::test]
async fn a_bad_listing_filter_is_the_catalogs_400_not_a_5xx() {
    let app = spawn_app().await;
    Mock::given(path("/products"))
        .and(query_param("limit", "1000"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": {"code": "bad_request", "message": "limit must be 1-100"}
        })))
        .mount(&app.catalog)
        .await;
    let resp = app.get("/api/products?limit=1000").await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "bad_request");
}
