use crate::helpers::spawn_app;

#[tokio::test]
async fn ready_with_the_seed_loaded_whatever_orders_does() {
    // The mock answers nothing (404 for every path): orders is of no use, yet ready.
    let app = spawn_app().await;
    assert_eq!(app.get("/health/live").await.status(), 200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    // Its own check, and the fault layer's (a failing-readiness fault); nothing about orders.
    let names: Vec<&str> = body["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["product_seed", "injected_fault"]);
}

#[tokio::test]
async fn metrics_count_answers_by_model_and_feed_calls() {
    let app = spawn_app().await;
    app.serve_feed(Vec::new()).await;
    assert_eq!(app.get("/recommendations/BK-0002").await.status(), 200);
    // Let the learner poll at least once.
    for _ in 0..40 {
        if app.feed_calls().await > 0 {
            break;
        }
        tokio::time::sleep(crate::helpers::POLL).await;
    }
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
    assert!(
        text.lines().any(
            |l| l.starts_with("http_client_request_duration_seconds_bucket")
                && l.contains(r#"http_route="/orders""#)
                && l.contains(r#"server_address="orders""#)
        ),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_documents_the_route() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    assert!(doc["paths"]["/recommendations/{product_id}"].is_object());
}
