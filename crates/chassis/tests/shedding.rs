//! Load shedding: past `max_in_flight` concurrent requests, a fast 503 instead of a queue.

use std::time::Duration;

use apiary_chassis::{Readiness, ServeLimits, standard_router};
use axum::Router;
use axum::routing::get;

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(500)).await;
    "done"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_limit_are_shed_with_503_and_probes_are_not() {
    let limits = ServeLimits {
        max_in_flight: 1,
        ..ServeLimits::default()
    };
    let app = standard_router(
        Router::new().route("/slow", get(slow)),
        Readiness::new(),
        limits,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let http = reqwest::Client::new();
    let first = tokio::spawn({
        let (http, url) = (http.clone(), url.clone());
        async move {
            http.get(format!("{url}/slow"))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let shed = http
        .get(format!("{url}/slow"))
        .send()
        .await
        .expect("second");
    assert_eq!(shed.status(), 503);
    let body: serde_json::Value = shed.json().await.expect("json");
    assert_eq!(body["error"]["code"], "overloaded");
    assert_eq!(
        http.get(format!("{url}/health/live"))
            .send()
            .await
            .expect("live")
            .status(),
        200
    );
    assert_eq!(first.await.expect("join").expect("first"), 200);
}
