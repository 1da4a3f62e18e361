//! A request through two real axum servers on port 0, exported to the SDK's in-memory
//! exporters through the production pipeline (queue, processors, subscriber layers).
//!
//! One test per binary: it installs the global tracing subscriber.

use std::time::Duration;

use apiary_chassis::{HttpClient, Readiness, ServeLimits, standard_router};
use apiary_telemetry::{Logs, Pipeline, ServiceInfo, Spans, TelemetryConfig};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Key, Value};
use opentelemetry_sdk::logs::InMemoryLogExporter;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use serde_json::{Value as Json_, json};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

async fn spawn(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn back_item(Path(id): Path<u32>) -> Json<Json_> {
    tracing::info!(item = id, "serving item");
    let cx = tracing::Span::current().context();
    let synthetic = cx.baggage().get("synthetic_request").map(|v| v.to_string());
    Json(json!({ "id": id, "synthetic": synthetic }))
}

async fn back_fail() -> axum::http::StatusCode {
    axum::http::StatusCode::INTERNAL_SERVER_ERROR
}

async fn front_item(State(client): State<HttpClient>, Path(id): Path<u32>) -> Json<Json_> {
    let resp = client
        .send("/items/{id}", client.get(&format!("/items/{id}")))
        .await
        .expect("back answers");
    let body: Json_ = resp.json().await.expect("json");
    Json(body)
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == Key::from(key.to_owned()))
        .map(|kv| &kv.value)
}

fn by_name<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        panic!(
            "no span {name} in {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_through_two_apps_is_one_trace_with_logs_and_metrics() {
    let spans = InMemorySpanExporter::default();
    let logs = InMemoryLogExporter::default();
    let config = TelemetryConfig::from_env(&[("RUST_LOG", "info")]).expect("config");
    let info = ServiceInfo {
        name: "pair",
        version: "0.0.0",
    };
    let pipeline = Pipeline::with_sinks(
        apiary_telemetry::resource(info, &config),
        config,
        Spans(spans.clone()),
        Logs(logs.clone()),
    );
    tracing_subscriber::registry()
        .with(pipeline.layers())
        .init();
    let guard = pipeline.into_guard();

    let back = standard_router(
        Router::new()
            .route("/items/{id}", get(back_item))
            .route("/fail", get(back_fail)),
        Readiness::new(),
        ServeLimits::default(),
    );
    let back_url = spawn(back).await;
    let client = HttpClient::new("back", &back_url, Duration::from_secs(5)).expect("client");
    let front = standard_router(
        Router::new()
            .route("/front/{id}", get(front_item))
            .with_state(client),
        Readiness::new(),
        ServeLimits::default(),
    );
    let front_url = spawn(front).await;

    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{front_url}/front/7"))
        .header("baggage", "synthetic_request=true")
        .send()
        .await
        .expect("front answers");
    let traceresponse = resp
        .headers()
        .get("traceresponse")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("a traceresponse header");
    let body: Json_ = resp.json().await.expect("json");
    assert_eq!(
        body,
        json!({ "id": 7, "synthetic": "true" }),
        "baggage crossed both hops"
    );
    let failed = http
        .get(format!("{back_url}/fail"))
        .send()
        .await
        .expect("fail answers");
    assert_eq!(failed.status(), 500);
    // Probes and scrapes are not traced.
    http.get(format!("{back_url}/health/ready"))
        .send()
        .await
        .expect("ready");

    guard.flush(Duration::from_secs(5)).await;
    let finished = spans.get_finished_spans().expect("spans");

    let front_server = by_name(&finished, "GET /front/{id}");
    let client_span = finished
        .iter()
        .find(|s| s.name == "GET /items/{id}" && s.span_kind == SpanKind::Client)
        .expect("client span");
    let back_server = finished
        .iter()
        .find(|s| s.name == "GET /items/{id}" && s.span_kind == SpanKind::Server)
        .expect("back server span");
    assert_eq!(front_server.span_kind, SpanKind::Server);
    assert_eq!(client_span.span_kind, SpanKind::Client);
    let trace_id = front_server.span_context.trace_id();
    assert_eq!(
        traceresponse,
        format!("00-{}-{}-01", trace_id, front_server.span_context.span_id()),
        "the response names the request's trace and server span"
    );
    assert_eq!(client_span.span_context.trace_id(), trace_id);
    assert_eq!(back_server.span_context.trace_id(), trace_id);
    assert_eq!(
        client_span.parent_span_id,
        front_server.span_context.span_id()
    );
    assert_eq!(
        back_server.parent_span_id,
        client_span.span_context.span_id()
    );
    assert!(back_server.parent_span_is_remote);

    assert_eq!(
        attr(back_server, "http.request.method"),
        Some(&Value::from("GET"))
    );
    assert_eq!(
        attr(back_server, "http.route"),
        Some(&Value::from("/items/{id}"))
    );
    assert_eq!(
        attr(back_server, "http.response.status_code"),
        Some(&Value::I64(200))
    );
    assert_eq!(
        attr(client_span, "http.response.status_code"),
        Some(&Value::I64(200))
    );
    let fail = by_name(&finished, "GET /fail");
    assert_eq!(attr(fail, "error.type"), Some(&Value::from("500")));
    assert!(
        matches!(fail.status, Status::Error { .. }),
        "{:?}",
        fail.status
    );
    assert!(
        !finished.iter().any(|s| s.name.contains("/health")),
        "probes must not be traced"
    );
    let resource_name = front_server.instrumentation_scope.name();
    assert_eq!(resource_name, "apiary");

    let emitted = logs.get_emitted_logs().expect("logs");
    let served = emitted
        .iter()
        .find(|l| format!("{:?}", l.record.body()).contains("serving item"))
        .expect("the handler's log record was exported");
    let tc = served
        .record
        .trace_context()
        .expect("log record carries trace context");
    assert_eq!(tc.trace_id, trace_id);
    assert_eq!(tc.span_id, back_server.span_context.span_id());
    assert_eq!(
        served
            .resource
            .get(&Key::from_static_str("service.namespace")),
        Some(Value::from("apiary"))
    );

    let metrics = http
        .get(format!("{back_url}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let server_line = metrics
        .lines()
        .find(|l| {
            l.starts_with("http_server_request_duration_seconds_bucket")
                && l.contains(r#"http_route="/items/{id}""#)
        })
        .unwrap_or_else(|| panic!("no server histogram in\n{metrics}"));
    assert!(
        server_line.contains(r#"http_request_method="GET""#),
        "{server_line}"
    );
    assert!(
        server_line.contains(r#"http_response_status_code="200""#),
        "{server_line}"
    );
    assert!(
        metrics.lines().any(
            |l| l.starts_with("http_client_request_duration_seconds_bucket")
                && l.contains(r#"server_address="back""#)
        ),
        "no client histogram in\n{metrics}"
    );
    assert!(
        metrics.contains("apiary_telemetry_exported_items_total"),
        "{metrics}"
    );
    guard.shutdown().await;
}
