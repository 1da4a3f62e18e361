//! End to end: the real `apiary` binary starts the real service binaries from a manifest with
//! free ports, against an OTLP gRPC receiver run by this test.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`, which `cargo test
//! --workspace` does anyway).

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{DashboardPorts, Launcher, StackManifest, alive, bin_dir, temp_dir};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;

/// One received span with the service that sent it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    span: Span,
}

/// (service, trace id, span id) of a log record.
type TracedLog = (String, Vec<u8>, Vec<u8>);

#[derive(Debug, Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Received>>>,
    /// Every log record that carried a trace context.
    logs: Arc<Mutex<Vec<TracedLog>>>,
}

fn string_attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self
            .spans
            .lock()
            .map_err(|_| tonic::Status::internal("poisoned"))?;
        for rs in request.into_inner().resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| string_attr(&r.attributes, "service.name"))
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for span in ss.spans {
                    spans.push(Received {
                        service: service.clone(),
                        span,
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        let mut logs = self
            .logs
            .lock()
            .map_err(|_| tonic::Status::internal("poisoned"))?;
        for rl in request.into_inner().resource_logs {
            let service = rl
                .resource
                .as_ref()
                .and_then(|r| string_attr(&r.attributes, "service.name"))
                .unwrap_or_default();
            for sl in rl.scope_logs {
                for record in sl.log_records {
                    if !record.trace_id.is_empty() {
                        logs.push((service.clone(), record.trace_id, record.span_id));
                    }
                }
            }
        }
        Ok(tonic::Response::new(ExportLogsServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_products_exports_one_trace_restarts_crashes_and_stops_cleanly() {
    let bins = bin_dir();
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind receiver");
    let otlp = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(receiver.clone()))
        .add_service(LogsServiceServer::new(receiver.clone()))
        .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
    tokio::spawn(server);

    let dir = temp_dir("up");
    let stack = StackManifest::write(&dir, None);
    let manifest = stack.path.clone();
    let (gateway_port, catalog_port) = (stack.port("gateway"), stack.port("catalog"));
    let mut launcher = Launcher::start(&[
        "up",
        "--manifest",
        manifest.to_str().expect("utf-8 path"),
        "--bin-dir",
        bins.to_str().expect("utf-8 path"),
        "--otlp-endpoint",
        &otlp,
        "--stop-timeout",
        "10",
    ]);
    launcher.wait_for("every service is ready", Duration::from_secs(60));
    let table = launcher.output();
    assert!(
        table.contains(&format!("http://127.0.0.1:{gateway_port}")),
        "{table}"
    );

    // The shop answers through the gateway.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let resp = http
        .get(format!(
            "http://127.0.0.1:{gateway_port}/api/products?category=music"
        ))
        .send()
        .await
        .expect("gateway answers");
    assert_eq!(resp.status(), 200);
    let page: serde_json::Value = resp.json().await.expect("json");
    assert!(
        page["items"].as_array().is_some_and(|a| !a.is_empty()),
        "{page}"
    );

    // The catalog shows the semconv histogram.
    let metrics =
        apiary_testkit::metrics_page(&http, &format!("http://127.0.0.1:{catalog_port}")).await;
    assert!(
        metrics.contains("http_server_request_duration_seconds_bucket{"),
        "{metrics}"
    );

    // One trace: gateway server -> gateway client -> catalog server, exported over OTLP.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (gateway_server, gateway_client, catalog_server) = loop {
        let spans = receiver.spans.lock().expect("lock").clone();
        let find = |service: &str, name: &str, kind: i32| {
            spans
                .iter()
                .find(|r| r.service == service && r.span.name == name && r.span.kind == kind)
                .cloned()
        };
        // SpanKind: 2 = server, 3 = client.
        if let (Some(a), Some(b), Some(c)) = (
            find("gateway", "GET /api/products", 2),
            find("gateway", "GET /products", 3),
            find("catalog", "GET /products", 2),
        ) {
            break (a, b, c);
        }
        assert!(
            Instant::now() < deadline,
            "trace not received; got {:?}",
            spans
                .iter()
                .map(|r| (&r.service, &r.span.name))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(gateway_client.span.trace_id, gateway_server.span.trace_id);
    assert_eq!(catalog_server.span.trace_id, gateway_server.span.trace_id);
    assert_eq!(
        gateway_client.span.parent_span_id,
        gateway_server.span.span_id
    );
    assert_eq!(
        catalog_server.span.parent_span_id,
        gateway_client.span.span_id
    );

    // Only the services' own spans are exported, never the HTTP/gRPC/exporter crates' internals.
    let names: Vec<String> = receiver
        .spans
        .lock()
        .expect("lock")
        .iter()
        .map(|r| r.span.name.clone())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| ["GET ", "POST ", "PUT ", "DELETE ", "PATCH "]
                .iter()
                .any(|m| n.starts_with(m))),
        "internal spans were exported: {names:?}"
    );

    // A log record written inside a request carries that request's trace and span ids.
    let resp = http
        .get(format!(
            "http://127.0.0.1:{gateway_port}/api/products/BK-9999"
        ))
        .send()
        .await
        .expect("gateway answers");
    assert_eq!(resp.status(), 404);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let spans = receiver.spans.lock().expect("lock").clone();
        let logs = receiver.logs.lock().expect("lock").clone();
        let not_found = spans
            .iter()
            .find(|r| r.service == "catalog" && r.span.name == "GET /products/{id}");
        if let Some(span) = not_found
            && logs.iter().any(|(service, trace, span_id)| {
                service == "catalog"
                    && *trace == span.span.trace_id
                    && *span_id == span.span.span_id
            })
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no catalog log with the request's trace id; logs: {logs:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A crashed service is restarted, and says so.
    let first_catalog = *launcher.pids_of("catalog").first().expect("catalog pid");
    kill(Pid::from_raw(first_catalog), Signal::SIGKILL).expect("kill catalog");
    launcher.wait_for("catalog exited", Duration::from_secs(10));
    launcher.wait_for("restarting in", Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(20);
    while launcher.pids_of("catalog").len() < 2 {
        assert!(
            Instant::now() < deadline,
            "catalog not restarted:\n{}",
            launcher.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ok = http
            .get(format!(
                "http://127.0.0.1:{gateway_port}/api/products/BK-0001"
            ))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "shop did not recover:\n{}",
            launcher.output()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // SIGTERM stops every child; none is left behind.
    let pids: Vec<i32> = ["catalog", "gateway"]
        .iter()
        .flat_map(|s| launcher.pids_of(s))
        .collect();
    kill(Pid::from_raw(launcher.child.id() as i32), Signal::SIGTERM).expect("sigterm");
    let status = launcher.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}\n{}", launcher.output());
    for pid in pids {
        assert!(
            !alive(pid),
            "pid {pid} outlived the launcher:\n{}",
            launcher.output()
        );
    }
    let out = launcher.output();
    assert!(
        out.contains("catalog stopped") && out.contains("gateway stopped"),
        "{out}"
    );

    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_invocations_exit_2_with_a_clear_message() {
    let bins = bin_dir();
    let dir = temp_dir("bad");
    let stack = StackManifest::write(&dir, None);
    let catalog_port = stack.port("catalog");
    let manifest = stack.path.to_str().expect("utf-8");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_apiary"))
            .args(args)
            .output()
            .expect("run apiary");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, err) = run(&[
        "up",
        "--manifest",
        manifest,
        "--bin-dir",
        bins.to_str().expect("utf-8"),
        "--only",
        "payments",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("unknown service 'payments'") && err.contains("gateway, catalog, cart"),
        "{err}"
    );

    let empty = temp_dir("empty-bin");
    let (code, err) = run(&[
        "up",
        "--manifest",
        manifest,
        "--bin-dir",
        empty.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("binary for '") && err.contains("not found"),
        "{err}"
    );

    let _held = std::net::TcpListener::bind(("127.0.0.1", catalog_port)).expect("hold the port");
    let (code, err) = run(&[
        "up",
        "--manifest",
        manifest,
        "--bin-dir",
        bins.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains(&format!(
            "port {catalog_port} for 'catalog' is already in use"
        )),
        "{err}"
    );

    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "[stack]\nhost = 1\n").expect("write");
    let (code, err) = run(&["up", "--manifest", broken.to_str().expect("utf-8")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("broken.toml"), "{err}");

    let (code, err) = run(&[
        "up",
        "--manifest",
        manifest,
        "--otlp-endpoint",
        "localhost:4317",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--otlp-endpoint"), "{err}");

    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(empty);
}

#[test]
fn a_malformed_service_variable_stops_start_up_naming_it() {
    let bins = bin_dir();
    for (binary, var, value) in [
        ("catalog", "APIARY_PORT", "eighty"),
        ("gateway", "CATALOG_URL", "catalog:8001"),
        ("gateway", "OTEL_EXPORTER_OTLP_PROTOCOL", "smoke"),
    ] {
        let out = Command::new(bins.join(binary))
            .env(var, value)
            .env(
                "APIARY_PORT",
                if var == "APIARY_PORT" { value } else { "0" },
            )
            .output()
            .expect("run service");
        assert_eq!(out.status.code(), Some(2), "{binary} with {var}={value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(var), "{binary}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_the_dashboard_shows_the_trace_and_health_of_the_stack() {
    let bins = bin_dir();
    assert!(
        bins.join("dashboard").is_file(),
        "dashboard binary missing: run `cargo build --workspace --bins`"
    );
    let dir = temp_dir("dashboard");
    let stack = StackManifest::write(&dir, Some(DashboardPorts::free()));
    let manifest = stack.path.clone();
    let (gateway_port, ui) = (
        stack.port("gateway"),
        stack.dashboard.as_ref().expect("dashboard").ui,
    );
    let mut launcher = Launcher::start(&[
        "up",
        "--manifest",
        manifest.to_str().expect("utf-8"),
        "--bin-dir",
        bins.to_str().expect("utf-8"),
    ]);
    launcher.wait_for("every service is ready", Duration::from_secs(60));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let dashboard = format!("http://127.0.0.1:{ui}");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let _ = http
            .get(format!(
                "http://127.0.0.1:{gateway_port}/api/products?limit=1"
            ))
            .send()
            .await;
        let traces = get_json(&http, &format!("{dashboard}/api/traces?service=catalog")).await;
        let services = get_json(&http, &format!("{dashboard}/api/services")).await;
        let both_up = ["gateway", "catalog"].iter().all(|name| {
            services.as_array().is_some_and(|a| {
                a.iter().any(|s| {
                    s["name"] == *name
                        && s["health"] == "up"
                        && s["rps"].as_f64().unwrap_or(0.0) > 0.0
                })
            })
        });
        let joined = traces.as_array().is_some_and(|t| {
            t.iter().any(|t| {
                t["services"] == serde_json::json!(["catalog", "gateway"])
                    && t["root_service"] == "gateway"
            })
        });
        // The map is derived from spans at most once a second, so it may trail the trace
        // list by a second.
        let topology = get_json(&http, &format!("{dashboard}/api/topology")).await;
        let edge = topology["edges"].as_array().is_some_and(|e| {
            e.iter()
                .any(|e| e["from"] == "gateway" && e["to"] == "catalog")
        });
        if both_up && joined && edge {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "dashboard never showed the stack: {services} {traces} {topology}\n{}",
            launcher.output()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    kill(Pid::from_raw(launcher.child.id() as i32), Signal::SIGTERM).expect("sigterm");
    let status = launcher.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}\n{}", launcher.output());
    assert!(
        launcher.output().contains("dashboard stopped"),
        "{}",
        launcher.output()
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `GET url` as JSON; the dashboard must answer.
async fn get_json(http: &reqwest::Client, url: &str) -> serde_json::Value {
    http.get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{url}: not JSON: {e}"))
}
