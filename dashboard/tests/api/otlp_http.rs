use std::io::Write;

use dashboard::Config;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;

use crate::helpers::{TestSpan, spans_request, spawn, spawn_default};

fn one_span() -> Vec<TestSpan> {
    vec![TestSpan {
        trace: 1,
        id: 1,
        parent: None,
        name: "GET /x",
        kind: 2,
        start_ms: 0,
        duration_ms: 5,
        error: false,
    }]
}

#[tokio::test]
async fn protobuf_is_accepted_and_answered_in_protobuf() {
    let d = spawn_default().await;
    let resp = d
        .post_otlp(
            "/v1/traces",
            "application/x-protobuf",
            spans_request("svc", &one_span()).encode_to_vec(),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/x-protobuf");
    let body =
        ExportTraceServiceResponse::decode(resp.bytes().await.expect("body")).expect("decodes");
    assert!(body.partial_success.is_none());
    d.eventually("/api/store", |s| s["spans"] == 1).await;
}

#[tokio::test]
async fn json_with_hex_ids_is_accepted_and_answered_in_json() {
    let d = spawn_default().await;
    let body = serde_json::json!({ "resourceSpans": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "jsonsvc" } }] },
        "scopeSpans": [{ "spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "GET /json", "kind": 2, "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000005000000"
        }]}]
    }]});
    let resp = d
        .post_otlp(
            "/v1/traces",
            "application/json",
            serde_json::to_vec(&body).expect("json"),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/json")
    );
    let (status, trace) = d
        .get_json("/api/traces/5b8efff798038103d269b633813fc60c")
        .await;
    assert_eq!(status, 200, "{trace}");
    assert_eq!(trace["spans"][0]["name"], "GET /json");
    assert_eq!(trace["spans"][0]["service"], "jsonsvc");
}

#[tokio::test]
async fn gzip_bodies_are_decompressed() {
    let d = spawn_default().await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&spans_request("gz", &one_span()).encode_to_vec())
        .expect("gzip");
    let resp = d
        .http
        .post(format!("{}/v1/traces", d.otlp_http))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gz.finish().expect("gzip"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn malformed_ids_are_a_partial_success() {
    let d = spawn_default().await;
    let mut req = spans_request("svc", &one_span());
    let mut bad = req.resource_spans[0].scope_spans[0].spans[0].clone();
    bad.trace_id = vec![1, 2, 3];
    req.resource_spans[0].scope_spans[0].spans.push(bad);
    let resp = d
        .post_otlp("/v1/traces", "application/x-protobuf", req.encode_to_vec())
        .await;
    assert_eq!(resp.status(), 200);
    let body =
        ExportTraceServiceResponse::decode(resp.bytes().await.expect("body")).expect("decodes");
    let partial = body.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(!partial.error_message.is_empty());
    d.eventually("/api/store", |s| s["spans"] == 1 && s["spans_refused"] == 1)
        .await;
}

#[tokio::test]
async fn every_refusal_has_its_status_code() {
    let mut config = Config::for_tests();
    config.body_limit = 1024;
    let d = spawn(config, Vec::new()).await;
    let undecodable = d
        .post_otlp(
            "/v1/traces",
            "application/x-protobuf",
            vec![0xff, 0xff, 0xff],
        )
        .await;
    assert_eq!(undecodable.status(), 400);
    let bad_json = d
        .post_otlp("/v1/logs", "application/json", b"{not json".to_vec())
        .await;
    assert_eq!(bad_json.status(), 400);
    assert!(
        bad_json.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/json")
    );
    let too_big = d
        .post_otlp("/v1/traces", "application/x-protobuf", vec![0; 4096])
        .await;
    assert_eq!(too_big.status(), 413);
    let wrong_type = d
        .post_otlp("/v1/traces", "text/plain", b"hello".to_vec())
        .await;
    assert_eq!(wrong_type.status(), 415);
    let wrong_method = d
        .http
        .get(format!("{}/v1/traces", d.otlp_http))
        .send()
        .await
        .expect("get");
    assert_eq!(wrong_method.status(), 405);
}

#[tokio::test]
async fn over_the_ingest_budget_is_429_with_retry_after() {
    let mut config = Config::for_tests();
    config.ingest_budget = 2;
    let d = spawn(config, Vec::new()).await;
    let three: Vec<TestSpan> = (1..=3)
        .map(|i| TestSpan {
            trace: i,
            id: i,
            parent: None,
            name: "GET /x",
            kind: 2,
            start_ms: 0,
            duration_ms: 1,
            error: false,
        })
        .collect();
    let resp = d
        .post_otlp(
            "/v1/traces",
            "application/x-protobuf",
            spans_request("svc", &three).encode_to_vec(),
        )
        .await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    d.eventually("/api/store", |s| s["spans_refused"] == 3 && s["spans"] == 0)
        .await;
}

#[tokio::test]
async fn eviction_keeps_the_span_limit() {
    let mut config = Config::for_tests();
    config.limits.max_spans = 10;
    let d = spawn(config, Vec::new()).await;
    for batch in 0..5u8 {
        let spans: Vec<TestSpan> = (0..5u8)
            .map(|i| TestSpan {
                trace: batch * 5 + i + 1,
                id: i + 1,
                parent: None,
                name: "GET /x",
                kind: 2,
                start_ms: 0,
                duration_ms: 1,
                error: false,
            })
            .collect();
        let resp = d
            .post_otlp(
                "/v1/traces",
                "application/x-protobuf",
                spans_request("svc", &spans).encode_to_vec(),
            )
            .await;
        assert_eq!(resp.status(), 200);
    }
    let stats = d
        .eventually("/api/store", |s| s["spans_received"] == 25)
        .await;
    assert_eq!(stats["spans"], 10);
    assert_eq!(stats["spans_evicted"], 15);
    assert_eq!(stats["traces"], 10);
}
