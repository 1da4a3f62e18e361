use std::time::{Duration, Instant};

use dashboard::monitor::Target;
use dashboard::{Application, Config};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

pub struct TestDashboard {
    pub api: String,
    pub otlp_http: String,
    pub otlp_grpc: String,
    pub http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn spawn(config: Config, targets: Vec<Target>) -> TestDashboard {
    let app = Application::build_with_targets(config, targets)
        .await
        .expect("build");
    let api = format!("http://127.0.0.1:{}", app.port());
    let otlp_http = format!("http://127.0.0.1:{}", app.otlp_http_port());
    let otlp_grpc = format!("http://127.0.0.1:{}", app.otlp_grpc_port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestDashboard {
        api,
        otlp_http,
        otlp_grpc,
        http: reqwest::Client::new(),
        _stop: stop,
    }
}

pub async fn spawn_default() -> TestDashboard {
    spawn(Config::for_tests(), Vec::new()).await
}

impl TestDashboard {
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .get(format!("{}{}", self.api, path))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn post_otlp(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}{}", self.otlp_http, path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("otlp request")
    }

    /// Polls `path` until `check` accepts the JSON, or panics after 10 s.
    pub async fn eventually(
        &self,
        path: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, body) = self.get_json(path).await;
            if check(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{path} never matched; last: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", service)],
        ..Default::default()
    })
}

pub struct TestSpan {
    pub trace: u8,
    pub id: u8,
    pub parent: Option<u8>,
    pub name: &'static str,
    /// 2 server, 3 client.
    pub kind: i32,
    pub start_ms: u64,
    pub duration_ms: u64,
    pub error: bool,
}

pub fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

pub fn spans_request(service: &str, spans: &[TestSpan]) -> ExportTraceServiceRequest {
    let base = now_nanos() - 5_000_000_000;
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(service),
            scope_spans: vec![ScopeSpans {
                spans: spans
                    .iter()
                    .map(|s| Span {
                        trace_id: vec![s.trace; 16],
                        span_id: vec![s.id; 8],
                        parent_span_id: s.parent.map(|p| vec![p; 8]).unwrap_or_default(),
                        name: s.name.into(),
                        kind: s.kind,
                        start_time_unix_nano: base + s.start_ms * 1_000_000,
                        end_time_unix_nano: base + (s.start_ms + s.duration_ms) * 1_000_000,
                        attributes: vec![kv("http.request.method", "GET")],
                        status: s.error.then(|| Status {
                            code: 2,
                            message: "boom".into(),
                        }),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

pub fn logs_request(
    service: &str,
    trace: u8,
    span: u8,
    body: &str,
    severity: i32,
) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(service),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: now_nanos(),
                    severity_number: severity,
                    severity_text: "INFO".into(),
                    body: Some(AnyValue {
                        value: Some(Value::StringValue(body.into())),
                    }),
                    trace_id: vec![trace; 16],
                    span_id: vec![span; 8],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}
