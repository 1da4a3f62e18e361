//! The fault layer and the caller-side faults, driven by a real flag file through the
//! OpenFeature flagd provider: a 500 with the JSON error body, added latency, failing readiness,
//! unreachable and partitioned peers, a retry storm. One test: the evaluator is process-wide.

use std::path::Path;
use std::time::{Duration, Instant};

use apiary_chassis::{CallError, HttpClient, Readiness, ServeLimits, standard_router};
use apiary_faults::{FaultSpec, ServiceShape, Shape, base_flags, render_faults, write_flag_file};
use axum::Router;
use axum::routing::{get, post};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn shape() -> Shape {
    Shape {
        services: [
            (
                "svc".to_owned(),
                ServiceShape {
                    depends_on: vec!["peer".to_owned()],
                    store: None,
                    ..ServiceShape::default()
                },
            ),
            ("peer".to_owned(), ServiceShape::default()),
        ]
        .into(),
    }
}

fn write(path: &Path, specs: &[serde_json::Value]) {
    let shape = shape();
    let specs: Vec<FaultSpec> = specs
        .iter()
        .map(|s| serde_json::from_value(s.clone()).expect("spec"))
        .collect();
    let set = render_faults(&base_flags(&shape), &shape, &specs).expect("renders");
    write_flag_file(path, &set).expect("write");
    // The watcher sees the rename at once; give the store a moment to swap.
    std::thread::sleep(Duration::from_millis(100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_act_on_requests_readiness_and_outbound_calls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flags = dir.path().join("flags.flagd.json");
    write(&flags, &[]);
    apiary_faults::runtime::start_from_file("svc", "0.1.0", &flags)
        .await
        .expect("faults start");

    let app = standard_router(
        Router::new()
            .route("/charges", post(|| async { "charged" }))
            .route("/items", get(|| async { "items" })),
        Readiness::new(),
        ServeLimits::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let http = reqwest::Client::new();
    let status = |path: &'static str, post_it: bool| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let req = if post_it {
                http.post(format!("{url}{path}"))
            } else {
                http.get(format!("{url}{path}"))
            };
            req.send().await.expect("request").status().as_u16()
        }
    };
    assert_eq!(status("/charges", true).await, 200, "no fault yet");

    // Errors on one route only, with the JSON error body.
    write(
        &flags,
        &[
            json!({"kind": "error-rate", "service": "svc", "percent": 100, "route": "POST /charges"}),
        ],
    );
    let resp = http
        .post(format!("{url}/charges"))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 500);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "internal");
    assert_eq!(status("/items", false).await, 200, "other routes untouched");
    assert_eq!(
        status("/health/live", false).await,
        200,
        "probes are never faulted"
    );

    // A downstream that is unavailable: 503 with Retry-After, which callers may retry.
    write(
        &flags,
        &[json!({"kind": "error-rate", "service": "svc", "percent": 100, "status": 503})],
    );
    let resp = http.get(format!("{url}/items")).send().await.expect("get");
    assert_eq!(resp.status(), 503);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unavailable");

    // Latency, and readiness failing by name.
    write(
        &flags,
        &[
            json!({"kind": "latency", "service": "svc", "ms": 300}),
            json!({"kind": "failing-readiness", "service": "svc"}),
        ],
    );
    let start = Instant::now();
    assert_eq!(status("/items", false).await, 200);
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    let ready = http
        .get(format!("{url}/health/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), 503);
    let report: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(report["failed"], json!(["injected_fault"]));
    let metrics = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("process_resident_memory_bytes"),
        "the scrape carries RSS"
    );

    // Outbound: unreachable fails at once, partitioned waits for the call's timeout.
    let peer = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&peer)
        .await;
    let client = HttpClient::new("peer", peer.uri(), Duration::from_millis(300)).expect("client");
    write(
        &flags,
        &[json!({"kind": "unreachable", "service": "svc", "peer": "peer"})],
    );
    let start = Instant::now();
    let err = client
        .send("/x", client.get("/x"))
        .await
        .expect_err("unreachable");
    assert!(err.is_unavailable() && !err.is_timeout(), "{err}");
    assert!(start.elapsed() < Duration::from_millis(200));
    write(
        &flags,
        &[json!({"kind": "partition", "a": "svc", "b": "peer"})],
    );
    let start = Instant::now();
    let err = client
        .send("/x", client.get("/x"))
        .await
        .expect_err("partitioned");
    assert!(
        matches!(err, CallError::Injected(_)) && err.is_timeout(),
        "{err}"
    );
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert!(
        peer.received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "nothing reached the peer"
    );

    // A retry storm: one failing call becomes 1 + 3 requests at the peer.
    write(
        &flags,
        &[json!({"kind": "retry-storm", "service": "svc", "retries": 3})],
    );
    let resp = client.send("/x", client.get("/x")).await.expect("answered");
    assert_eq!(resp.status(), 500);
    assert_eq!(peer.received_requests().await.unwrap_or_default().len(), 4);

    // Everything off again.
    write(&flags, &[]);
    assert_eq!(status("/charges", true).await, 200);
    let ready = http
        .get(format!("{url}/health/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), 200);
}
