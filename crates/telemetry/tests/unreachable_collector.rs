//! With the OTLP endpoint unreachable, requests still succeed without waiting on export, and
//! the lost telemetry is counted on `/metrics`.

use std::time::{Duration, Instant};

use apiary_chassis::{Readiness, ServeLimits, standard_router};
use apiary_telemetry::{Logs, Pipeline, QueueConfig, ServiceInfo, Spans, TelemetryConfig};
use axum::Router;
use axum::routing::get;
use opentelemetry_otlp::{LogExporter, SpanExporter, WithExportConfig};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

async fn hello() -> &'static str {
    tracing::info!("hello");
    "hello"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_do_not_wait_for_an_unreachable_collector_and_drops_are_counted() {
    // Port 9 (discard) on loopback: nothing listens, connections are refused; the exporter
    // retries with backoff, so its small queue fills while requests keep coming.
    let endpoint = "http://127.0.0.1:9";
    let spans = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .expect("span exporter");
    let logs = LogExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .expect("log exporter");
    let mut config = TelemetryConfig::from_env(&[("RUST_LOG", "info")]).expect("config");
    let small = QueueConfig {
        max_queue_size: 4,
        max_export_batch_size: 2,
        scheduled_delay: Duration::from_millis(50),
    };
    config.traces_queue = small;
    config.logs_queue = small;
    config.shutdown_timeout = Duration::from_millis(500);
    let info = ServiceInfo {
        name: "lonely",
        version: "0.0.0",
    };
    let pipeline = Pipeline::with_sinks(
        apiary_telemetry::resource(info, &config),
        config,
        Spans(spans),
        Logs(logs),
    );
    tracing_subscriber::registry()
        .with(pipeline.layers())
        .init();
    let guard = pipeline.into_guard();

    let app = standard_router(
        Router::new().route("/hello", get(hello)),
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

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let mut slowest = Duration::ZERO;
    for _ in 0..100 {
        let start = Instant::now();
        let resp = http
            .get(format!("{url}/hello"))
            .send()
            .await
            .expect("request succeeds");
        assert_eq!(resp.status(), 200);
        slowest = slowest.max(start.elapsed());
    }
    // A correctness bound, not a benchmark: one export attempt alone takes longer than this,
    // so a request that waited on export would exceed it.
    assert!(
        slowest < Duration::from_secs(3),
        "a request waited on export: {slowest:?}"
    );

    let stats = guard.trace_stats().expect("exporting");
    let deadline = Instant::now() + Duration::from_secs(20);
    while stats.dropped() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stats.dropped() > 0, "spans were lost but not counted");

    let metrics = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let dropped: f64 = metrics
        .lines()
        .filter(|l| {
            l.starts_with("apiary_telemetry_dropped_items_total{")
                && l.contains(r#"signal="traces""#)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        dropped > 0.0,
        "drop counter missing from /metrics:\n{metrics}"
    );

    let start = Instant::now();
    guard.shutdown().await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "shutdown is bounded"
    );
}
