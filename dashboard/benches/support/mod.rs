//! Synthetic OTLP spans for the benchmarks (the dashboard's, and the UI's with a million spans
//! held): realistic in shape and size, deterministic, encoded once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

/// Sends every batch to `url` (OTLP/HTTP protobuf) over `concurrency` connections, each batch
/// once, and requires a 200 for each. The batches are shared: sending one copies nothing.
pub async fn export_all(
    http: &reqwest::Client,
    url: &str,
    batches: Arc<Vec<Bytes>>,
    concurrency: usize,
) {
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, next, batches) =
                (http.clone(), url.to_owned(), next.clone(), batches.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = batches.get(i) else { return };
                    let resp = http
                        .post(&url)
                        .header("content-type", "application/x-protobuf")
                        .body(body.clone())
                        .send()
                        .await
                        .expect("export");
                    assert_eq!(resp.status(), 200, "export of batch {i}");
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("an export worker");
    }
}

/// Spans per export request.
pub const BATCH: usize = 512;

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

/// Batch `n`: 512 spans of one of `services` (in turn), shaped like Apiary's HTTP server and
/// client spans: three spans a trace, one in a hundred an error, durations 1-97 ms.
pub fn batch(n: usize, services: &[&str]) -> Vec<u8> {
    let service = services[n % services.len()];
    let base = 1_790_000_000_000_000_000u64 + (n as u64) * 1_000_000;
    let spans = (0..BATCH)
        .map(|i| {
            let k = n * BATCH + i;
            let trace = (k / 3) as u128 + 1;
            let server = i % 3 != 1;
            let product = k % 300;
            let duration = 1_000_000 + (k % 97) as u64 * 1_000_000;
            Span {
                trace_id: trace.to_be_bytes().to_vec(),
                span_id: ((k as u64) + 1).to_be_bytes().to_vec(),
                parent_span_id: if k.is_multiple_of(3) {
                    Vec::new()
                } else {
                    (k as u64).to_be_bytes().to_vec()
                },
                name: if server {
                    "GET /api/products/{id}".into()
                } else {
                    "GET /products/{id}".into()
                },
                kind: if server { 2 } else { 3 },
                start_time_unix_nano: base + i as u64 * 1000,
                end_time_unix_nano: base + i as u64 * 1000 + duration,
                attributes: vec![
                    kv("http.request.method", s("GET")),
                    kv("http.route", s("/api/products/{id}")),
                    kv("url.path", s(&format!("/api/products/BK-{product:04}"))),
                    kv("url.scheme", s("http")),
                    kv("network.protocol.version", s("1.1")),
                    kv("user_agent.original", s("apiary-load/0.1")),
                    kv(
                        "http.response.status_code",
                        Value::IntValue(if k.is_multiple_of(100) { 500 } else { 200 }),
                    ),
                ],
                status: k.is_multiple_of(100).then(|| Status {
                    code: 2,
                    message: "upstream failed".into(),
                }),
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", s(service)),
                    kv("service.namespace", s("apiary")),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// The dashboard binary as a child process, killed when dropped.
#[allow(dead_code)] // the UI's bench starts the whole stack instead
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Resident memory of a process, in MiB.
#[allow(dead_code)]
pub fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Waits (at most 20 s) until the dashboard at `api` answers its readiness probe.
#[allow(dead_code)]
pub async fn wait_ready(http: &reqwest::Client, api: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while http
        .get(format!("{api}/health/ready"))
        .send()
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "dashboard did not start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
