//! The dashboard stays bounded and correct under any input: high-cardinality attributes,
//! oversized or hostile bodies, floods.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use dashboard::Config;
use dashboard::monitor::Target;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use crate::helpers::{TestSpan, kv, now_nanos, spans_request, spawn};

/// A ready app without `/metrics`, so the dashboard judges it from its spans.
async fn ready_only_app() -> String {
    let app = Router::new().route("/health/ready", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// Distinct attribute values each flood span carries.
const VALUES_PER_SPAN: u64 = 20;

/// `n` spans of `service`, numbered from `first`, each with its own short `url.path` (a cart
/// id, as the shop's own routes carry) and more distinct ids beside it.
fn distinct_paths(service: &str, first: u64, n: u64) -> ExportTraceServiceRequest {
    let end = now_nanos();
    let spans = (first..first + n)
        .map(|i| {
            let mut trace_id = vec![0xee; 16];
            trace_id[..8].copy_from_slice(&i.to_be_bytes());
            Span {
                trace_id,
                span_id: i.to_be_bytes().to_vec(),
                name: "GET /carts/{id}".into(),
                kind: 2,
                start_time_unix_nano: end - 1_000_000,
                end_time_unix_nano: end,
                attributes: (0..VALUES_PER_SPAN)
                    .map(|k| match k {
                        0 => kv("url.path", &format!("/carts/{i:x}")),
                        k => kv(&format!("app.item.{k}"), &format!("{k}-{i:x}")),
                    })
                    .collect(),
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Issue 13: 220,000 distinct short attribute values (`url.path` with cart ids) used to fill the
/// process-wide string table, after which a service never seen before was stored as
/// "(other)": not listed, not searchable. High-cardinality values must not cost the names
/// anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_service_is_named_after_a_flood_of_distinct_attribute_values() {
    let url = ready_only_app().await;
    let mut config = Config::for_tests();
    config.scrape_interval = Duration::from_millis(200);
    config.limits.max_spans = 5_000;
    let d = spawn(
        config,
        vec![Target {
            name: "newcomer".into(),
            base_url: url,
            slo: Default::default(),
        }],
    )
    .await;

    // 220,000 distinct values, more than the old table's 200,000 entries.
    const BATCH: u64 = 1_000;
    for batch in 0..220_000 / (BATCH * VALUES_PER_SPAN) {
        let req = distinct_paths("flood", batch * BATCH, BATCH);
        let resp = d
            .post_otlp("/v1/traces", "application/x-protobuf", req.encode_to_vec())
            .await;
        assert_eq!(resp.status(), 200, "batch {batch}");
    }

    let mut req = spans_request(
        "newcomer",
        &[TestSpan {
            trace: 0x42,
            id: 1,
            parent: None,
            name: "GET /first",
            kind: 2,
            start_ms: 0,
            duration_ms: 3,
            error: false,
        }],
    );
    // helpers place spans 5 s in the past; move them to now so they count as recent.
    for s in &mut req.resource_spans[0].scope_spans[0].spans {
        let shift = now_nanos().saturating_sub(s.end_time_unix_nano);
        s.start_time_unix_nano += shift;
        s.end_time_unix_nano += shift;
    }
    let resp = d
        .post_otlp("/v1/traces", "application/x-protobuf", req.encode_to_vec())
        .await;
    assert_eq!(resp.status(), 200);

    let (status, trace) = d
        .get_json(&format!("/api/traces/{}", "42".repeat(16)))
        .await;
    assert_eq!(status, 200, "{trace}");
    assert_eq!(trace["spans"][0]["service"], "newcomer", "{trace}");
    assert_eq!(trace["spans"][0]["name"], "GET /first", "{trace}");
    let (_, found) = d.get_json("/api/traces?service=newcomer").await;
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found[0]["root_service"], "newcomer", "{found}");
    let services = d
        .eventually("/api/services", |v| v[0]["source"] == "spans")
        .await;
    assert_eq!(services[0]["name"], "newcomer", "{services}");
    assert_eq!(services[0]["source"], "spans", "{services}");
    let (_, topology) = d.get_json("/api/topology").await;
    assert!(
        !topology.to_string().contains("(other)"),
        "no name degrades: {topology}"
    );
}

/// Each `/api/events` stream holds a connection and gets a snapshot twice a second for as long
/// as it is open; past the cap a new one is a 503 with Retry-After, and a closed one frees
/// its slot.
#[tokio::test]
async fn event_streams_are_capped_and_a_closed_one_frees_its_slot() {
    let mut config = Config::for_tests();
    config.max_event_streams = 1;
    let d = spawn(config, Vec::new()).await;
    let open = || d.http.get(format!("{}/api/events", d.api)).send();
    let mut first = open().await.expect("first stream");
    assert_eq!(first.status(), 200);
    first.chunk().await.expect("a snapshot").expect("open");
    let second = open().await.expect("second stream");
    assert_eq!(second.status(), 503);
    assert!(second.headers().contains_key("retry-after"));
    let body: serde_json::Value = second.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_many_streams", "{body}");
    drop(first);
    // The server notices the hang-up at its next send (at most half a second later).
    let mut reopened = None;
    for _ in 0..100 {
        let resp = open().await.expect("stream");
        if resp.status() == 200 {
            reopened = Some(resp);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened.is_some(), "the slot came back");
    let metrics = d
        .http
        .get(format!("{}/metrics", d.api))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("dashboard_event_streams"),
        "open streams are counted"
    );
}
