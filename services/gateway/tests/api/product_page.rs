//! The composed product page: the product is required, every other part optional.

use std::time::{Duration, Instant};

use apiary_chassis::resilience::BreakerConfig;
use apiary_testkit::metric_value;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    OPTIONAL_TIMEOUT, TestApp, error_json, product_json, reviews_json, spawn_app, spawn_with,
};

async fn page(app: &TestApp, id: &str) -> Value {
    let resp = app.get(&format!("/api/products/{id}")).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

#[tokio::test]
async fn all_parts_are_composed_into_one_page() {
    let app = spawn_app().await;
    app.mount_whole_product_page("BK-0001").await;
    let body = page(&app, "BK-0001").await;
    assert_eq!(body["product"]["id"], "BK-0001");
    assert_eq!(body["stock"]["status"], "ok");
    assert_eq!(body["stock"]["available"], 7);
    assert_eq!(body["stock"]["in_stock"], true);
    assert_eq!(body["reviews"]["status"], "ok");
    assert_eq!(body["reviews"]["count"], 12);
    assert_eq!(body["reviews"]["average_rating"], 4.5);
    assert_eq!(body["reviews"]["reviews"][0]["title"], "Gripping");
    assert_eq!(body["recommendations"]["status"], "ok");
    assert_eq!(body["recommendations"]["model"], "co-purchase");
    let ids: Vec<&str> = body["recommendations"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["MU-0002", "VI-0003"],
        "details, in the recommender's order"
    );
}

#[tokio::test]
async fn product_views_are_counted() {
    let app = spawn_app().await;
    app.mount_whole_product_page("BK-0001").await;
    let count = |text: &str| metric_value(text, "shop_product_views_total");
    let before = count(&app.get("/metrics").await.text().await.expect("text"));
    page(&app, "BK-0001").await;
    let after = count(&app.get("/metrics").await.text().await.expect("text"));
    // Other tests in this binary share the process-wide recorder: at least ours counted.
    assert!(after >= before + 1.0, "{before} -> {after}");
}

#[tokio::test]
async fn failing_reviews_leave_the_page_up() {
    let app = spawn_app().await;
    app.mount_product(product_json("BK-0001")).await;
    app.mount_stock("BK-0001", 3).await;
    app.mount_recommendations("BK-0001", &["MU-0002"]).await;
    Mock::given(path("/products/BK-0001/reviews"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.reviews)
        .await;
    let body = page(&app, "BK-0001").await;
    assert_eq!(
        body["reviews"],
        serde_json::json!({"status": "unavailable"})
    );
    assert_eq!(body["stock"]["status"], "ok");
    assert_eq!(body["recommendations"]["status"], "ok");
}

#[tokio::test]
async fn slow_recommendations_are_dropped_at_their_timeout() {
    let app = spawn_app().await;
    app.mount_product(product_json("BK-0001")).await;
    app.mount_stock("BK-0001", 3).await;
    app.mount_reviews("BK-0001").await;
    Mock::given(path("/recommendations/BK-0001"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(
                    serde_json::json!({"product_id": "BK-0001", "model": "similar", "items": []}),
                )
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&app.recommendations)
        .await;
    let start = Instant::now();
    let body = page(&app, "BK-0001").await;
    let took = start.elapsed();
    assert_eq!(body["recommendations"]["status"], "unavailable");
    assert_eq!(body["reviews"]["status"], "ok");
    // One attempt, bounded by its own timeout (no retries of an optional part).
    assert!(took < OPTIONAL_TIMEOUT * 3, "{took:?}");
    assert_eq!(TestApp::received(&app.recommendations).await, 1);
}

#[tokio::test]
async fn stock_down_is_unavailable_not_an_error() {
    let app = spawn_app().await;
    app.mount_product(product_json("BK-0001")).await;
    app.mount_reviews("BK-0001").await;
    app.mount_recommendations("BK-0001", &[]).await;
    Mock::given(path("/stock/BK-0001"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&app.inventory)
        .await;
    let body = page(&app, "BK-0001").await;
    assert_eq!(body["stock"]["status"], "unavailable");
    assert_eq!(body["recommendations"]["status"], "ok");
    assert_eq!(body["recommendations"]["items"], serde_json::json!([]));
}

#[tokio::test]
async fn every_optional_part_down_still_serves_the_product() {
    // Nothing but the catalog answers (the other mocks answer 404 without an error body).
    let app = spawn_app().await;
    app.mount_product(product_json("BK-0001")).await;
    let body = page(&app, "BK-0001").await;
    assert_eq!(body["product"]["title"], "Dracula");
    for part in ["stock", "reviews", "recommendations"] {
        assert_eq!(body[part]["status"], "unavailable", "{part}");
    }
}

#[tokio::test]
async fn an_unknown_product_is_404() {
    let app = spawn_app().await;
    Mock::given(path("/products/BK-9999"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(error_json("unknown_product", "no product BK-9999")),
        )
        .mount(&app.catalog)
        .await;
    let resp = app.get("/api/products/BK-9999").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(crate::helpers::error_code(resp).await, "unknown_product");
}

#[tokio::test]
async fn recommended_ids_unknown_to_the_catalog_or_the_product_itself_are_left_out() {
    let app = spawn_app().await;
    app.mount_product(product_json("BK-0001")).await;
    Mock::given(method("GET"))
        .and(path("/recommendations/BK-0001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "product_id": "BK-0001", "model": "similar",
            "items": [
                {"product_id": "BK-0001", "score": 1.0},
                {"product_id": "MU-0404", "score": 0.9},
                {"product_id": "bad,id", "score": 0.8},
                {"product_id": "VI-0003", "score": 0.7}
            ]
        })))
        .mount(&app.recommendations)
        .await;
    // The catalog leaves unknown ids out of a `?ids=` answer.
    app.mount_products_by_ids("MU-0404,VI-0003", vec![product_json("VI-0003")])
        .await;
    let body = page(&app, "BK-0001").await;
    assert_eq!(body["recommendations"]["items"][0]["id"], "VI-0003");
    assert_eq!(
        body["recommendations"]["items"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn a_failing_part_opens_its_circuit_and_a_success_after_the_cool_down_closes_it() {
    let cool_down = Duration::from_millis(300);
    let app = spawn_with(|config| {
        config.breaker = Some(BreakerConfig {
            window: 4,
            min_calls: 4,
            failure_ratio: 0.5,
            cool_down,
        });
    })
    .await;
    app.mount_product(product_json("BK-0001")).await;
    app.mount_stock("BK-0001", 3).await;
    app.mount_recommendations("BK-0001", &[]).await;
    Mock::given(path("/products/BK-0001/reviews"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.reviews)
        .await;

    for _ in 0..4 {
        assert_eq!(
            page(&app, "BK-0001").await["reviews"]["status"],
            "unavailable"
        );
    }
    assert_eq!(TestApp::received(&app.reviews).await, 4);
    // Open: the page is still served, and reviews is not called at all.
    for _ in 0..3 {
        assert_eq!(
            page(&app, "BK-0001").await["reviews"]["status"],
            "unavailable"
        );
    }
    assert_eq!(
        TestApp::received(&app.reviews).await,
        4,
        "an open circuit calls nobody"
    );

    // Reviews recovers; after the cool-down one trial call goes out, succeeds and closes it.
    app.reviews.reset().await;
    Mock::given(path("/products/BK-0001/reviews"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reviews_json("BK-0001")))
        .mount(&app.reviews)
        .await;
    tokio::time::sleep(cool_down + Duration::from_millis(100)).await;
    assert_eq!(page(&app, "BK-0001").await["reviews"]["status"], "ok");
    assert_eq!(page(&app, "BK-0001").await["reviews"]["status"], "ok");
    assert_eq!(
        TestApp::received(&app.reviews).await,
        2,
        "closed again: every call goes out"
    );
}
