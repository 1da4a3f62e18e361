use apiary_testkit::metric_sample;

use crate::helpers::{new_review, spawn_empty};

#[tokio::test]
async fn health_endpoints_answer_and_readiness_checks_the_store() {
    let (app, _dir) = spawn_empty().await;
    assert_eq!(app.get("/health/live").await.status(), 200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["checks"][0]["name"], "database");
}

#[tokio::test]
async fn metrics_are_exported() {
    let (app, _dir) = spawn_empty().await;
    assert_eq!(
        app.submit("BK-0004", &new_review(4, "Priya N."))
            .await
            .status(),
        201
    );
    let text = app.get("/metrics").await.text().await.expect("text");
    assert!(text.contains("shop_reviews_submitted_total "), "{text}");
    let rated_four =
        metric_sample(&text, r#"shop_review_ratings_total{rating="4"}"#).expect("rating 4 series");
    assert!(rated_four >= 1.0, "{text}");
    assert!(
        text.contains(r#"http_route="/products/{product_id}/reviews""#),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_documents_the_routes() {
    let (app, _dir) = spawn_empty().await;
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    let path = &doc["paths"]["/products/{product_id}/reviews"];
    assert!(path["get"].is_object() && path["post"].is_object(), "{doc}");
}
