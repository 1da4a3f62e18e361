//! The OTLP path through a third-party collector, both ways, with the real processes:
//!
//! - the services export to rotel (a Rust OpenTelemetry collector from PyPI), which relays to
//!   the dashboard: the dashboard sees every service's traces and logs as if they came direct;
//! - the dashboard forwards what it accepts to a second rotel (`[dashboard] forward_otlp`),
//!   which receives the services' spans: `apiary up` feeds an external collector and the
//!   embedded dashboard at once.
//!
//! Needs the workspace binaries and rotel (`scripts/lib.sh ensure_rotel` puts `rotel-agent` on
//! PATH; scripts/test.sh runs it).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiary_testkit::free_port;
use common::{DashboardPorts, Launcher, StackManifest, bin_dir, json_of, temp_dir, try_json_of};

/// A rotel collector, its output kept, killed when dropped.
struct Rotel {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Rotel {
    fn start(args: &[String]) -> Self {
        let mut child = Command::new("rotel-agent")
            .arg("start")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run rotel-agent ({e}): `source scripts/lib.sh && ensure_rotel` first"
                )
            });
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut o = output.lock().expect("output");
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        Self { child, output }
    }

    fn output(&self) -> String {
        self.output.lock().expect("output").clone()
    }

    /// Waits until the collector accepts connections on `port` (its receivers are up), so no
    /// export is sent before anything listens.
    fn wait_listening(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "rotel never listened on {port}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `check`'s first answer within `timeout`; else a panic naming `what` with the collector's
/// output (what it received and any export errors).
async fn until<T>(
    timeout: Duration,
    what: &str,
    collector: &Rotel,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let out = collector.output();
    let skip = out.chars().count().saturating_sub(4000);
    let tail: String = out.chars().skip(skip).collect();
    panic!("timed out after {timeout:?} waiting for {what}; the collector said:\n{tail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_export_through_rotel_to_the_dashboard_which_forwards_to_another_collector() {
    let dir = temp_dir("collector");
    let dash = DashboardPorts::free();
    let (relay_grpc, relay_http) = (free_port(), free_port());
    let (sink_grpc, sink_http) = (free_port(), free_port());
    // services -> relay (gRPC) -> the dashboard's OTLP gRPC receiver
    let relay = Rotel::start(&[
        format!("--otlp-grpc-endpoint=127.0.0.1:{relay_grpc}"),
        format!("--otlp-http-endpoint=127.0.0.1:{relay_http}"),
        "--exporter=otlp".into(),
        format!("--otlp-exporter-endpoint=http://127.0.0.1:{}", dash.grpc),
        "--otlp-exporter-protocol=grpc".into(),
        "--batch-timeout=200ms".into(),
    ]);
    relay.wait_listening(relay_grpc);
    // the dashboard -> sink (OTLP/HTTP), which prints what it receives
    let sink = Rotel::start(&[
        format!("--otlp-grpc-endpoint=127.0.0.1:{sink_grpc}"),
        format!("--otlp-http-endpoint=127.0.0.1:{sink_http}"),
        "--exporter=blackhole".into(),
        "--debug-log=traces".into(),
        "--debug-log-verbosity=detailed".into(),
        "--batch-timeout=200ms".into(),
    ]);
    sink.wait_listening(sink_http);
    let stack = StackManifest::write(&dir, Some(dash))
        .with_forward_otlp(&format!("http://127.0.0.1:{sink_http}"));
    let bins = bin_dir();
    let launcher = Launcher::start(&[
        "up",
        "--manifest",
        &stack.path.display().to_string(),
        "--bin-dir",
        &bins.display().to_string(),
        "--otlp-endpoint",
        &format!("http://127.0.0.1:{relay_grpc}"),
    ]);
    launcher.wait_for("every service is ready", Duration::from_secs(90));

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let gateway = stack.url("gateway");
    let dashboard = format!("http://127.0.0.1:{}", dash.ui);
    // Traffic through the gateway (product pages call six services each), again on every
    // look, so the check does not hang on one batch.
    let traffic = async || {
        for p in ["BK-0001", "MU-0002", "VI-0003", "BK-0004"] {
            let r = http
                .get(format!("{gateway}/api/products/{p}"))
                .send()
                .await
                .expect("gateway answers");
            assert!(r.status().is_success(), "{p}: {}", r.status());
        }
    };

    // Relayed: the dashboard holds the gateway's traces, whole (spans of the services it called).
    let services_in_a_trace = until(
        Duration::from_secs(30),
        "relayed traces",
        &relay,
        async || {
            traffic().await;
            let traces = try_json_of(
                &http,
                format!("{dashboard}/api/traces?service=gateway&limit=20"),
            )
            .await?;
            let id = traces.as_array()?.first()?["trace_id"].as_str()?.to_owned();
            let trace = try_json_of(&http, format!("{dashboard}/api/traces/{id}")).await?;
            let services: std::collections::BTreeSet<String> = trace["spans"]
                .as_array()?
                .iter()
                .filter_map(|s| s["service"].as_str().map(str::to_owned))
                .collect();
            (services.len() >= 3).then_some(services)
        },
    )
    .await;
    println!("a relayed trace spans {services_in_a_trace:?}");
    let logs = json_of(
        &http,
        format!("{dashboard}/api/logs?service=gateway&limit=5"),
    )
    .await;
    assert!(
        logs.as_array().is_some_and(|l| !l.is_empty()),
        "relayed logs: {logs}"
    );

    // Forwarded: the sink printed spans of the services, and the dashboard counts them as sent.
    until(
        Duration::from_secs(30),
        "forwarded spans at the sink",
        &sink,
        async || {
            let out = sink.output();
            (out.contains("gateway") && out.contains("catalog")).then_some(())
        },
    )
    .await;
    let metrics = apiary_testkit::metrics_page(&http, &dashboard).await;
    let sent = apiary_testkit::metric_value(
        &metrics,
        "dashboard_forward_requests_total{signal=\"traces\",outcome=\"sent\"}",
    );
    assert!(sent >= 1.0, "forwarded trace exports: {sent}\n{metrics}");
    let failed = apiary_testkit::metric_value(
        &metrics,
        "dashboard_forward_requests_total{signal=\"traces\",outcome=\"failed\"}",
    );
    assert_eq!(failed, 0.0, "no forward failed");
    drop(launcher);
    drop(relay);
    let _ = std::fs::remove_dir_all(&dir);
}
