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

/// A real gzip bomb: 50 MB of zeros in about 50 KB. It is inflated only up to the limit and
/// refused with 413, never held whole.
#[tokio::test]
async fn a_gzip_bomb_is_413_after_inflating_no_more_than_the_limit() {
    let mut config = Config::for_tests();
    config.body_limit = 1024 * 1024;
    let d = spawn(config, Vec::new()).await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..50 {
        gz.write_all(&zeros).expect("gzip");
    }
    let bomb = gz.finish().expect("gzip");
    assert!(
        bomb.len() < 1024 * 1024,
        "the bomb itself is under the limit"
    );
    let resp = d
        .http
        .post(format!("{}/v1/traces", d.otlp_http))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn only_identity_and_gzip_encodings_are_accepted() {
    let d = spawn_default().await;
    let body = spans_request("enc", &one_span()).encode_to_vec();
    let send = |encoding: &'static str| {
        d.http
            .post(format!("{}/v1/traces", d.otlp_http))
            .header("content-type", "application/x-protobuf")
            .header("content-encoding", encoding)
            .body(body.clone())
            .send()
    };
    assert_eq!(send("identity").await.expect("send").status(), 200);
    for unsupported in ["br", "deflate", "zstd", "gzip, br"] {
        assert_eq!(
            send(unsupported).await.expect("send").status(),
            415,
            "{unsupported}"
        );
    }
}

/// Sends `head` (a request line and headers) and `body` over a raw connection, then closes
/// the sending half, and returns the status line of the answer.
async fn raw_exchange(addr: &str, head: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = addr.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(body).await.expect("body");
    stream.shutdown().await.expect("half-close");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

/// A sender that hangs up mid-body made the receiver answer 413 (any read failure looked like
/// "too large"); it is a bad request, not a size.
#[tokio::test]
async fn a_body_cut_short_is_not_reported_as_too_large() {
    let d = spawn_default().await;
    let head = "POST /v1/traces HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-protobuf\r\ncontent-length: 1000\r\n\r\n";
    let status = raw_exchange(&d.otlp_http, head, &[0u8; 10]).await;
    assert!(status.contains(" 400 "), "{status}");
}

/// A body that does not arrive in time is answered 408, and the slot is given back.
#[tokio::test]
async fn a_body_that_never_arrives_is_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut config = Config::for_tests();
    config.otlp_http.read_timeout = std::time::Duration::from_millis(200);
    let d = spawn(config, Vec::new()).await;
    let host = d.otlp_http.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let head = "POST /v1/traces HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-protobuf\r\ncontent-length: 1000\r\n\r\n";
    stream.write_all(head.as_bytes()).await.expect("head");
    // The connection stays open, the body never comes.
    let mut answer = vec![0u8; 12];
    // A guard against hanging for ever (the old receiver waited as long as the sender did),
    // not a measure of speed.
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        stream.read_exact(&mut answer),
    )
    .await
    .expect("answered before the guard")
    .expect("an answer");
    assert_eq!(&answer, b"HTTP/1.1 408");
}

/// With the item budget spent, a body is refused (429 + Retry-After) before it is read or
/// decoded: even an undecodable one gets 429, not 400.
#[tokio::test]
async fn with_the_budget_spent_a_body_is_refused_before_it_is_decoded() {
    let mut config = Config::for_tests();
    config.ingest_budget = 1;
    let d = spawn(config, Vec::new()).await;
    let drain = spans_request("svc", &one_span()).encode_to_vec();
    // The budget refills by one item a second; a slow machine may refill it between the two
    // requests, so a few tries are allowed.
    let mut refused = None;
    for _ in 0..5 {
        d.post_otlp("/v1/traces", "application/x-protobuf", drain.clone())
            .await;
        let resp = d
            .post_otlp("/v1/traces", "application/x-protobuf", vec![0xff; 64])
            .await;
        if resp.status() == 429 {
            refused = Some(resp);
            break;
        }
        assert_eq!(resp.status(), 400);
    }
    let resp = refused.expect("garbage is refused for the budget, not decoded");
    assert_eq!(resp.headers()["retry-after"], "1");
}

/// Body bytes held at once are capped: with the byte budget held by two slow senders, the
/// next body is a 503 with Retry-After, decided from its declared length before it is read. A
/// body that could never fit the budget is a 413, not an endless retry.
#[tokio::test]
async fn bodies_past_the_in_flight_byte_budget_are_503_with_retry_after() {
    use tokio::io::AsyncWriteExt;
    let mut config = Config::for_tests();
    config.otlp_http.in_flight_bytes = 8_000;
    let d = spawn(config, Vec::new()).await;
    let never_fits = d
        .post_otlp("/v1/traces", "application/x-protobuf", vec![0; 4_001])
        .await;
    assert_eq!(never_fits.status(), 413);
    let host = d.otlp_http.trim_start_matches("http://").to_owned();
    let head = "POST /v1/traces HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-protobuf\r\ncontent-length: 4000\r\n\r\n";
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(&host)
            .await
            .expect("connect");
        s.write_all(head.as_bytes()).await.expect("head");
        slow.push(s);
    }
    let small = spans_request("svc", &one_span()).encode_to_vec();
    // The slow senders hold their 8,000 bytes once the server has read their headers.
    let mut busy = None;
    for _ in 0..100 {
        let resp = d
            .post_otlp("/v1/traces", "application/x-protobuf", small.clone())
            .await;
        if resp.status() == 503 {
            busy = Some(resp);
            break;
        }
        assert_eq!(resp.status(), 200);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let resp = busy.expect("a body past the byte budget is shed");
    assert_eq!(resp.headers()["retry-after"], "1");
    drop(slow);
}

/// Requests in flight are capped: with one slot held by a slow sender, the next is 503.
#[tokio::test]
async fn requests_past_the_in_flight_cap_are_503_with_retry_after() {
    use tokio::io::AsyncWriteExt;
    let mut config = Config::for_tests();
    config.otlp_http.max_in_flight = 1;
    let d = spawn(config, Vec::new()).await;
    let host = d.otlp_http.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    let head = "POST /v1/traces HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-protobuf\r\ncontent-length: 1000\r\n\r\n";
    slow.write_all(head.as_bytes()).await.expect("head");
    let body = spans_request("svc", &one_span()).encode_to_vec();
    // The slow request takes its slot once the server has read its headers.
    let mut busy = None;
    for _ in 0..100 {
        let resp = d
            .post_otlp("/v1/traces", "application/x-protobuf", body.clone())
            .await;
        if resp.status() == 503 {
            busy = Some(resp);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let resp = busy.expect("a second request is shed while the first holds the slot");
    assert_eq!(resp.headers()["retry-after"], "1");
    drop(slow);
}
