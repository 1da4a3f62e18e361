//! The shipped Prometheus rules and Grafana dashboards against the live stack: the release
//! stack with load and its broker, a real Prometheus (Debian's package) scraping it with the
//! configuration `apiary export prometheus-config --local` writes and the shipped rules,
//! unchanged (5 s scrapes and evaluations). Then:
//!
//! - every target is up and no alert fires on a healthy shop;
//! - the payment-outage drill runs (real time): the SLO drill-tier alert for payment goes
//!   pending and firing within its documented time, and resolves after the drill; the time to
//!   alert is printed beside the dashboard's time to detect for the same fault;
//! - every metric a rule or a Grafana panel reads is one the stack exports, and every panel's
//!   query returns data — except what only the contrib collector makes (its own `otelcol_*`
//!   metrics and the `traces_span_metrics_*` its spanmetrics connector derives): no contrib
//!   collector runs here;
//! - Kubernetes' scrape configuration relabels pod metadata into the same jobs (its
//!   relabelling run by this Prometheus on targets that carry the metadata pod discovery gives).
//!
//! Ignored in the main run (release binaries, about three minutes); scripts/test.sh runs it.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apiary_testkit::free_port;
use common::{
    DashboardPorts, Launcher, StackManifest, all_up, apiary, json_of, release_dir, temp_dir,
};
use serde_json::Value;

/// The drill tier's documented bound: ~22 s of a total outage, plus a scrape and an evaluation
/// (5 s each), plus the pending->firing step; with margin for a loaded 2-core machine.
const ALERT_WITHIN: Duration = Duration::from_secs(60);
/// After the fault: the 30 s window empties of errors, then one evaluation.
const RESOLVED_WITHIN: Duration = Duration::from_secs(90);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Prometheus {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Prometheus {
    fn start(dir: &Path, config: &str) -> Self {
        let port = free_port();
        let log_path = dir.join("prometheus.log");
        let log = std::fs::File::create(&log_path).expect("log");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={config}"))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run prometheus ({e}): install Debian's prometheus package (scripts/test.sh does)")
            });
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log: log_path,
        }
    }

    /// Waits for Prometheus to answer `/-/ready` (it has loaded its configuration and rules).
    async fn ready(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(format!("{}/-/ready", self.url)).send().await
                && r.status().is_success()
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "prometheus exited ({status}): {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready after 60 s: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn get(&self, http: &reqwest::Client, path: &str, query: &[(&str, &str)]) -> Value {
        let body: Value = http
            .get(format!("{}{path}", self.url))
            .query(query)
            .send()
            .await
            .expect("prometheus answers")
            .json()
            .await
            .expect("json");
        assert_eq!(body["status"], "success", "{path} {query:?}: {body}");
        body["data"].clone()
    }

    /// The state of `alert` for `job` (`pending`, `firing`), if it is active.
    async fn alert_state(&self, http: &reqwest::Client, alert: &str, job: &str) -> Option<String> {
        let data = self.get(http, "/api/v1/alerts", &[]).await;
        data["alerts"].as_array()?.iter().find_map(|a| {
            (a["labels"]["alertname"] == alert && a["labels"]["job"] == job)
                .then(|| a["state"].as_str().unwrap_or_default().to_owned())
        })
    }

    async fn firing(&self, http: &reqwest::Client) -> Vec<String> {
        let data = self.get(http, "/api/v1/alerts", &[]).await;
        data["alerts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|a| a["state"] == "firing")
                    .map(|a| format!("{} {}", a["labels"]["alertname"], a["labels"]))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `config` plus a job with kubernetes.yml's relabelling over two targets that carry the
/// metadata Kubernetes pod discovery attaches (Debian's Prometheus is built without Kubernetes
/// discovery, so the targets are static; the relabelling is the shipped one, unchanged): a
/// catalog pod that asks to be scraped on `catalog_port`, and one that does not.
fn with_kubernetes_relabelling(config: &str, catalog_port: u16) -> String {
    let k8s: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo().join("prometheus/kubernetes.yml")).expect("kubernetes.yml"),
    )
    .expect("yaml");
    let shipped = &k8s["scrape_configs"][0];
    let pod = |name: &str, scrape: &str| {
        serde_json::json!({
            "targets": ["127.0.0.1:9"],
            "labels": {
                "__meta_kubernetes_pod_annotation_prometheus_io_scrape": scrape,
                "__meta_kubernetes_pod_annotation_prometheus_io_port": catalog_port.to_string(),
                "__meta_kubernetes_pod_annotation_prometheus_io_path": "/metrics",
                "__meta_kubernetes_pod_phase": "Running",
                "__meta_kubernetes_pod_label_app_kubernetes_io_name": "catalog",
                "__meta_kubernetes_pod_name": name,
                "__meta_kubernetes_namespace": "apiary",
            }
        })
    };
    let job = serde_json::json!({
        "job_name": "kubernetes-pods",
        "static_configs": [pod("catalog-7d9f6-x2x4q", "true"), pod("catalog-7d9f6-ignored", "false")],
        "relabel_configs": serde_json::to_value(&shipped["relabel_configs"]).expect("relabel configs"),
    });
    let yaml = serde_yaml::to_string(&serde_json::json!([job])).expect("yaml");
    let indented: String = yaml.lines().map(|l| format!("  {l}\n")).collect();
    format!("{config}{indented}")
}

/// Metrics only the contrib collector makes: its own, and the span metrics it derives.
fn from_the_collector(name: &str) -> bool {
    name.starts_with("otelcol_") || name.starts_with("traces_span_metrics_")
}

/// Every PromQL expression in the shipped rules and Grafana dashboards.
fn shipped_queries() -> (Vec<String>, Vec<(String, String)>) {
    let mut rules = Vec::new();
    for e in std::fs::read_dir(repo().join("prometheus/rules")).expect("rules") {
        let text = std::fs::read_to_string(e.expect("entry").path()).expect("rule file");
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
        for group in doc["groups"].as_sequence().expect("groups") {
            for rule in group["rules"].as_sequence().expect("rules") {
                rules.push(rule["expr"].as_str().expect("expr").to_owned());
            }
        }
    }
    let mut panels = Vec::new();
    for e in std::fs::read_dir(repo().join("grafana/dashboards")).expect("dashboards") {
        let path = e.expect("entry").path();
        let board: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("dashboard")).expect("json");
        let title = board["title"].as_str().unwrap_or_default().to_owned();
        for panel in board["panels"].as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    panels.push((
                        format!("{title} / {}", panel["title"].as_str().unwrap_or_default()),
                        expr.to_owned(),
                    ));
                }
            }
        }
    }
    (rules, panels)
}

/// The metric names an expression reads: identifiers that are not PromQL's own words, label
/// names, template variables or recording rules (`a:b:c`).
fn metric_names(expr: &str) -> BTreeSet<String> {
    const NOT_METRICS: &[&str] = &[
        "sum",
        "rate",
        "increase",
        "by",
        "on",
        "and",
        "or",
        "unless",
        "without",
        "max",
        "min",
        "avg",
        "count",
        "histogram_quantile",
        "vector",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "ignoring",
        "label_values",
        "label_replace",
        "max_over_time",
        "topk",
        "abs",
        "le",
        "job",
        "slo",
        "instance",
        "reason",
        "signal",
        "currency",
        "exporter",
        "receiver",
        "kind",
        "service",
        "http_route",
        "http_request_method",
        "http_response_status_code",
        "error_type",
        "server_address",
        "outcome",
        "service_name",
        "span_kind",
    ];
    let mut out = BTreeSet::new();
    // Strip label matchers ({...}), ranges ([...]) and strings (which may hold braces) first.
    let mut cleaned = String::new();
    let (mut depth, mut quoted) = (0usize, false);
    for c in expr.chars() {
        match c {
            '"' => quoted = !quoted,
            '{' | '[' if !quoted => depth += 1,
            '}' | ']' if !quoted => depth = depth.saturating_sub(1),
            _ if !quoted && depth == 0 => {
                cleaned.push(c);
                continue;
            }
            _ => {}
        }
        cleaned.push(' ');
    }
    for token in cleaned.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
        if token.is_empty()
            || token.contains(':')
            || token.starts_with('$')
            || token.chars().next().is_some_and(|c| c.is_ascii_digit())
            || NOT_METRICS.contains(&token)
        {
            continue;
        }
        out.insert(token.to_owned());
    }
    out
}

#[test]
fn metric_names_are_read_from_expressions() {
    let names = metric_names(
        r#"sum by (job, le) (rate(http_server_request_duration_seconds_bucket{job="$job", http_route=~"a.b", span_kind="SPAN_KIND_SERVER"}[1m])) and on (job) up{job=~"otel|rabbitmq"} > 0.5 * apiary:slo:objective or label_replace(up, "x", "{y}", "job", ".*")"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["http_server_request_duration_seconds_bucket", "up"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs release binaries, Debian's prometheus and about three minutes; scripts/test.sh runs it"]
async fn the_shipped_rules_alert_on_a_live_drill_and_every_panel_has_data() {
    let bins = release_dir();
    let dir = temp_dir("prometheus-live");
    let (flags, drills) = StackManifest::shipped_faults();
    let dash = DashboardPorts::free();
    let stack = StackManifest::write_full(&dir, Some(dash), Some(5.0), Some((&flags, &drills)))
        .with_broker();
    let launcher = Launcher::start(&[
        "up",
        "--manifest",
        &stack.path.display().to_string(),
        "--bin-dir",
        &bins.display().to_string(),
    ]);
    launcher.wait_for("every service is ready", Duration::from_secs(60));
    launcher.wait_for("the broker accepts AMQP", Duration::from_secs(120));
    let base = format!("http://127.0.0.1:{}", dash.ui);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    all_up(&http, &base, Duration::from_secs(60)).await;

    // Prometheus with the configuration written for this stack and the shipped rules.
    let (ok, config) = apiary(&stack.path, &["export", "prometheus-config", "--local"]);
    assert!(ok, "{config}");
    let prom_dir = dir.join("prometheus");
    std::fs::create_dir_all(prom_dir.join("rules")).expect("dir");
    let config = with_kubernetes_relabelling(&config, stack.port("catalog"));
    std::fs::write(prom_dir.join("prometheus.yml"), &config).expect("config");
    for e in std::fs::read_dir(repo().join("prometheus/rules")).expect("rules") {
        let path = e.expect("entry").path();
        std::fs::copy(
            &path,
            prom_dir.join("rules").join(path.file_name().expect("name")),
        )
        .expect("copy rule file");
    }
    let mut prometheus = Prometheus::start(
        &prom_dir,
        &prom_dir.join("prometheus.yml").display().to_string(),
    );
    prometheus.ready(&http).await;

    // Every target up.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let targets = prometheus.get(&http, "/api/v1/targets", &[]).await;
        let active = targets["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let down: Vec<String> = active
            .iter()
            .filter(|t| t["health"] != "up")
            .map(|t| format!("{} {}", t["labels"]["job"], t["lastError"]))
            .collect();
        // Each service, the dashboard, the broker and its per-queue job, and the pod that
        // Kubernetes' relabelling kept (the one that did not ask to be scraped is dropped).
        if active.len() == apiary_testkit::stack::service_count() + 4 && down.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "targets not all up: {down:?} ({} active)",
            active.len()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Kubernetes' relabelling made the annotated pod a `catalog` instance named after the pod,
    // on the port its annotation gives, in its namespace.
    let pod = prometheus
        .get(
            &http,
            "/api/v1/query",
            &[(
                "query",
                r#"up{job="catalog",instance="catalog-7d9f6-x2x4q",namespace="apiary"}"#,
            )],
        )
        .await;
    assert_eq!(
        pod["result"][0]["value"][1], "1",
        "the relabelled pod is scraped as catalog: {pod}"
    );

    // Half a minute of a healthy shop in the windows; nothing fires.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let firing = prometheus.firing(&http).await;
    assert!(firing.is_empty(), "alerts on a healthy shop: {firing:?}");

    // The payment-outage drill, in real time; watch the alert and the dashboard.
    let drill_manifest = stack.path.clone();
    let drill = std::thread::spawn(move || {
        apiary(
            &drill_manifest,
            &["drill", "run", "payment-outage", "--time-scale", "1"],
        )
    });
    let started = Instant::now();
    let fault_on = loop {
        let faults = json_of(&http, format!("{base}/api/faults")).await;
        if faults["active"].as_array().is_some_and(|a| !a.is_empty()) {
            break Instant::now();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the drill never set its fault"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (mut pending_at, mut firing_at) = (None, None);
    while firing_at.is_none() && fault_on.elapsed() < ALERT_WITHIN {
        match prometheus
            .alert_state(&http, "ApiarySLOBurnDrill", "payment")
            .await
            .as_deref()
        {
            Some("pending") => {
                pending_at.get_or_insert(fault_on.elapsed());
            }
            Some("firing") => {
                pending_at.get_or_insert(fault_on.elapsed());
                firing_at = Some(fault_on.elapsed());
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let firing_at = firing_at.unwrap_or_else(|| {
        panic!(
            "ApiarySLOBurnDrill{{job=payment}} did not fire within {ALERT_WITHIN:?} of the fault (pending at {pending_at:?}); firing: {:?}",
            std::fs::read_to_string(prom_dir.join("prometheus.log")).unwrap_or_default()
        )
    });
    let (ok, out) = tokio::task::spawn_blocking(move || drill.join().expect("drill thread"))
        .await
        .expect("join");
    assert!(ok, "the drill passes:\n{out}");
    let fault_off = Instant::now();
    let runs = json_of(&http, format!("{base}/api/drills/runs")).await;
    let detect_ms = runs["runs"][0]["time_to_detect_ms"].as_u64();
    println!(
        "payment outage: dashboard detected it in {detect_ms:?} ms; Prometheus alert ApiarySLOBurnDrill pending after {:.1} s, firing after {:.1} s (5 s scrapes and evaluations)",
        pending_at.unwrap_or(firing_at).as_secs_f64(),
        firing_at.as_secs_f64()
    );
    // Resolved once the errors leave the short window.
    loop {
        let state = prometheus
            .alert_state(&http, "ApiarySLOBurnDrill", "payment")
            .await;
        if state.is_none() {
            println!(
                "resolved {:.1} s after the drill ended",
                fault_off.elapsed().as_secs_f64()
            );
            break;
        }
        assert!(
            fault_off.elapsed() < RESOLVED_WITHIN,
            "still {state:?} {RESOLVED_WITHIN:?} after the drill"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Every metric a rule or panel reads exists; every panel's query returns data.
    let names: BTreeSet<String> = prometheus
        .get(&http, "/api/v1/label/__name__/values", &[])
        .await
        .as_array()
        .expect("names")
        .iter()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect();
    let (rules, panels) = shipped_queries();
    assert!(panels.len() >= 20, "panels: {}", panels.len());
    let mut missing = BTreeSet::new();
    for expr in rules.iter().chain(panels.iter().map(|(_, e)| e)) {
        for name in metric_names(expr) {
            if !from_the_collector(&name) && !names.contains(&name) {
                missing.insert(name);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "rules or dashboards read metrics the stack does not export: {missing:?}"
    );
    let mut empty = Vec::new();
    for (panel, expr) in &panels {
        if metric_names(expr).iter().any(|n| from_the_collector(n)) {
            continue; // made by the contrib collector, which does not run here
        }
        // Templated panels for checkout: it both serves and calls, so each of the service
        // dashboard's panels (inbound and outbound by peer) has something to show.
        let expr = expr
            .replace("$job", "checkout")
            .replace("$__rate_interval", "1m")
            .replace("$__interval", "15s");
        let data = prometheus
            .get(&http, "/api/v1/query", &[("query", &expr)])
            .await;
        if data["result"].as_array().is_none_or(Vec::is_empty) {
            empty.push(format!("{panel}: {expr}"));
        }
    }
    assert!(
        empty.is_empty(),
        "panels without data:\n{}",
        empty.join("\n")
    );

    drop(prometheus);
    drop(launcher);
    let _ = std::fs::remove_dir_all(&dir);
}
