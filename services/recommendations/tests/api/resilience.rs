use std::time::{Duration, Instant};

use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{ORDERS_TIMEOUT, order, spawn_app, spawn_with_orders_url};

/// Several answers over a few poll ticks: all 200 "similar", and none waits on orders.
async fn keeps_serving_similar(app: &crate::helpers::TestApp) {
    for _ in 0..5 {
        let started = Instant::now();
        let recs = app.recommendations("/recommendations/VI-0001").await;
        assert_eq!(recs.model, "similar");
        assert_eq!(recs.items.len(), 4);
        assert!(
            started.elapsed() < ORDERS_TIMEOUT,
            "{:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    assert_eq!(app.get("/health/ready").await.status(), 200);
}

#[tokio::test]
async fn a_failing_orders_service_does_not_break_recommendations() {
    let app = spawn_app().await;
    Mock::given(path("/orders"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.orders)
        .await;
    keeps_serving_similar(&app).await;
    assert!(app.feed_calls().await > 0, "the learner did poll");
}

#[tokio::test]
async fn a_malformed_feed_is_ignored() {
    let app = spawn_app().await;
    Mock::given(path("/orders"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"items": "nope"}"#))
        .mount(&app.orders)
        .await;
    keeps_serving_similar(&app).await;
    assert!(app.feed_calls().await > 0);
}

#[tokio::test]
async fn a_slow_orders_service_does_not_slow_recommendations() {
    let app = spawn_app().await;
    Mock::given(path("/orders"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"items": [], "last_seq": 0}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&app.orders)
        .await;
    keeps_serving_similar(&app).await;
}

#[tokio::test]
async fn an_unreachable_orders_service_leaves_the_service_ready() {
    // A port that was free a moment ago: nothing listens there.
    let unused = apiary_testkit::free_port();
    let app = spawn_with_orders_url(
        format!("http://127.0.0.1:{unused}"),
        MockServer::start().await,
    )
    .await;
    keeps_serving_similar(&app).await;
}

#[tokio::test]
async fn learning_resumes_when_orders_recovers() {
    let app = spawn_app().await;
    Mock::given(path("/orders"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&app.orders)
        .await;
    app.serve_feed(vec![order(1, &["VI-0001", "VI-0002"])])
        .await;
    let recs = app.wait_for_model("VI-0001", "co-purchase").await;
    assert_eq!(recs.model, "co-purchase");
    assert_eq!(recs.items[0].product_id, "VI-0002");
}
