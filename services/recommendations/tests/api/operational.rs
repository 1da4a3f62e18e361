use crate::helpers::spawn_app;

#[tokio::test]
async fn ready_with_the_seed_loaded_and_no_broker() {
    // No broker at all: nothing to learn from, yet ready.
    let app = spawn_app().await;
    assert_eq!(app.get("/health/live").await.status(), 200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    // Its own checks, and the fault layer's (a failing-readiness fault); no broker configured.
    let names: Vec<&str> = body["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["database", "product_seed", "injected_fault"]);
}

#[tokio::test]
async fn metrics_count_answers_by_model_and_what_was_learned() {
    let app = spawn_app().await;
    assert_eq!(app.get("/recommendations/BK-0002").await.status(), 200);
    let text = app.get("/metrics").await.text().await.expect("text");
    assert!(
        text.lines()
            .any(|l| l.starts_with("shop_recommendations_served_total")
                && l.contains(r#"model="similar""#)),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("recommendations_orders_learned")),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_documents_the_route() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    assert!(doc["paths"]["/recommendations/{product_id}"].is_object());
}
