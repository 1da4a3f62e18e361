//! The fault-tolerance suite: the promises SREs ask about, each checked against the release
//! stack (as `apiary up` runs it) under shopper load from `apiary-load`, each scenario stating
//! its promise, measuring it, and failing the suite when the promise is broken. It prints a
//! table of the measured figures (and writes it to `artifacts/fault-tolerance.md`); the
//! README's table is copied from a run.
//!
//! | scenario | promise |
//! |---|---|
//! | the dashboard (the OTLP receiver) killed and restarted under load | 0 failed shopper requests; services' memory flat; telemetry dropped while it was gone is counted; p99 against an undisturbed run reported |
//! | a downstream answers 100% 503 | retries amplify the callee's load at most 1.2x |
//! | each durable service (orders, inventory, payment, checkout) killed mid-checkout | 0 charges without an order, 0 orders without a charge, stock reconciles, nothing left on hold |
//! | 2x the gateway's capacity offered | answers within its deadline + 5%; what is shed is a 503; goodput against capacity reported |
//! | SIGTERM to a service with requests in flight | every in-flight request answered, their spans reach the dashboard, exit status 0 |
//! | an OTLP flood at 10x the dashboard's ingest capacity | its memory plateaus under its budgets; refusals are 429/503 with Retry-After; it never restarts |
//! | every service's OpenAPI document under schemathesis (all checks) | 0 server errors; every response conforms to the document (status, content type, schema); schema-valid requests accepted, invalid ones refused with a 4xx |
//!
//! Speed figures (p99, goodput, the flood's multiple of capacity) are printed, not asserted:
//! timed assertions flake on these shared 2-core machines.
//!
//! Ignored in the main test run (it needs `cargo build --release --workspace --bins` and a few
//! minutes); `scripts/test.sh` runs it with `--ignored`, and so can you:
//! `cargo test -p apiary --test fault_tolerance -- --ignored --nocapture`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    DashboardPorts, Launcher, StackManifest, reconcile_owners, release_dir, settle, temp_dir,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

/// The dashboard's ingest capacity for this suite, items a second (`DASHBOARD_INGEST_BUDGET`;
/// its default, 2,000,000, is more than this machine can send it): the stack's own telemetry
/// stays well under it, and a flood from one test process can exceed it tenfold.
const INGEST_BUDGET: u32 = 25_000;

/// The services of the stack (the dashboard apart).
const SERVICES: [&str; 10] = [
    "gateway",
    "catalog",
    "cart",
    "checkout",
    "inventory",
    "payment",
    "shipping",
    "reviews",
    "recommendations",
    "orders",
];

/// One product page per journey: each is one gateway request that calls catalog once.
const PRODUCT_PAGES: &str = r#"
[run]
arrival = "uniform"

[[journey]]
name = "product"
weight = 1
steps = [{ action = "product" }]
"#;

/// Shoppers who buy straight away.
const BUYERS: &str = r#"
[run]
arrival = "uniform"
think = "100ms..400ms"

[[journey]]
name = "quick_purchase"
weight = 1
steps = [
  { action = "product" },
  { action = "create_cart" },
  { action = "add_to_cart" },
  { action = "checkout", card = "valid" },
]
"#;

/// A scenario's verdict.
struct Verdict {
    scenario: String,
    promise: &'static str,
    measured: String,
    kept: bool,
}

impl Verdict {
    fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {} |",
            self.scenario,
            self.promise,
            self.measured,
            if self.kept { "kept" } else { "BROKEN" }
        )
    }
}

/// The running stack and what the scenarios need of it.
struct Suite {
    launcher: Launcher,
    stack: StackManifest,
    dir: PathBuf,
    bins: PathBuf,
    http: reqwest::Client,
    dashboard: String,
    /// The dashboard's OTLP/HTTP receiver.
    otlp_http: String,
    token: String,
}

/// An `apiary-load` run in the background.
struct LoadRun {
    child: Child,
    output: PathBuf,
}

impl LoadRun {
    /// Waits (bounded) for the run to end; its JSON report's `results`.
    async fn results(mut self) -> Value {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Some(status) = self.child.try_wait().expect("load status") {
                assert!(status.success(), "apiary-load failed: {status}");
                break;
            }
            assert!(Instant::now() < deadline, "apiary-load did not finish");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let report: Value =
            serde_json::from_slice(&std::fs::read(&self.output).expect("load report"))
                .expect("report json");
        report["results"].clone()
    }
}

impl Drop for LoadRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// Resident memory of a process, in MiB.
fn rss_mib(pid: i32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Sum of every sample of `name` whose labels contain all of `labels` (`key="value"`).
fn metric_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

impl Suite {
    async fn start() -> Self {
        let bins = release_dir();
        let dir = temp_dir("fault-tolerance");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dash = DashboardPorts::free();
        let stack = StackManifest::write_full(
            &dir,
            Some(dash),
            None,
            Some((&repo.join("drills/flags.flagd.json"), &repo.join("drills"))),
        );
        let budget = INGEST_BUDGET.to_string();
        let launcher = Launcher::start_with_env(
            &[
                "up",
                "--manifest",
                &stack.path.display().to_string(),
                "--bin-dir",
                &bins.display().to_string(),
                "--no-load",
            ],
            &[("DASHBOARD_INGEST_BUDGET", &budget)],
        );
        launcher.wait_for("every service is ready", Duration::from_secs(90));
        let token =
            std::fs::read_to_string(stack.data_dir.join("control.token")).expect("token file");
        let suite = Self {
            launcher,
            dashboard: format!("http://127.0.0.1:{}", dash.ui),
            otlp_http: format!("http://127.0.0.1:{}/v1/traces", dash.http),
            stack,
            dir,
            bins,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            token: token.trim().to_owned(),
        };
        // Warm up: the catalog read, first connections, the first spans.
        suite.load("warm-up", None, 5.0, 5).results().await;
        suite
    }

    /// Starts `apiary-load` against the gateway: `profile` (TOML text; the built-in shop
    /// profile when `None`) at `rate` journeys a second for `secs` seconds.
    fn load(&self, tag: &str, profile: Option<&str>, rate: f64, secs: u64) -> LoadRun {
        self.load_with(tag, profile, &["--rate", &rate.to_string()], secs)
    }

    fn load_with(&self, tag: &str, profile: Option<&str>, extra: &[&str], secs: u64) -> LoadRun {
        let output = self.dir.join(format!("load-{tag}.json"));
        let mut cmd = Command::new(self.bins.join("apiary-load"));
        cmd.args(["--target", &self.stack.url("gateway")])
            .args(["--duration", &format!("{secs}s")])
            .args(["--output", &output.display().to_string()])
            .args(["--seed", "7", "--quiet", "--control", "off"])
            .args(extra)
            // The shoppers' own spans would only add to the dashboard's work.
            .env("OTEL_SDK_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(text) = profile {
            let path = self.dir.join(format!("profile-{tag}.toml"));
            std::fs::write(&path, text).expect("profile");
            cmd.arg("--profile").arg(path);
        }
        LoadRun {
            child: cmd.spawn().expect("start apiary-load"),
            output,
        }
    }

    fn pid(&self, service: &str) -> i32 {
        *self
            .launcher
            .pids_of(service)
            .last()
            .unwrap_or_else(|| panic!("{service} pid"))
    }

    /// Waits until the launcher has started `service` `starts` times.
    async fn started(&self, service: &str, starts: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.launcher.pids_of(service).len() < starts {
            assert!(
                Instant::now() < deadline,
                "{service} was not restarted:\n{}",
                self.launcher.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn ready(&self, service: &str) {
        apiary_testkit::wait_ready(&self.http, &self.stack.url(service), service).await;
    }

    async fn metrics(&self, service: &str) -> String {
        self.http
            .get(format!("{}/metrics", self.stack.url(service)))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    async fn set_fault(&self, spec: Value) {
        let resp = self
            .http
            .post(format!("{}/api/faults", self.dashboard))
            .bearer_auth(&self.token)
            .json(&spec)
            .send()
            .await
            .expect("set fault");
        assert!(resp.status().is_success(), "{spec}: {}", resp.status());
    }

    async fn reset_faults(&self) {
        let resp = self
            .http
            .post(format!("{}/api/faults/reset", self.dashboard))
            .bearer_auth(&self.token)
            .json(&json!({}))
            .send()
            .await
            .expect("reset");
        assert!(resp.status().is_success(), "reset: {}", resp.status());
        // Services see flag changes within a second.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }

    // ------------------------------------------------------------------ the scenarios

    async fn dashboard_killed_under_load(&self) -> Verdict {
        const RATE: f64 = 8.0;
        const SECS: u64 = 20;
        let baseline = self
            .load("dashboard-baseline", None, RATE, SECS)
            .results()
            .await;
        let pids: Vec<(&str, i32)> = SERVICES.iter().map(|s| (*s, self.pid(s))).collect();
        let rss_before: Vec<f64> = pids.iter().map(|(_, p)| rss_mib(*p)).collect();
        let mut dropped_before = 0.0;
        for s in SERVICES {
            dropped_before += metric_sum(
                &self.metrics(s).await,
                "apiary_telemetry_dropped_items_total",
                &[],
            );
        }

        let run = self.load("dashboard-killed", None, RATE, SECS);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let starts = self.launcher.pids_of("dashboard").len();
        kill(Pid::from_raw(self.pid("dashboard")), Signal::SIGKILL).expect("kill dashboard");
        let killed = Instant::now();
        self.started("dashboard", starts + 1).await;
        apiary_testkit::wait_ready(&self.http, &self.dashboard, "the dashboard").await;
        let away = killed.elapsed();
        let results = run.results().await;

        let rss_after: Vec<f64> = pids.iter().map(|(_, p)| rss_mib(*p)).collect();
        let mut dropped_after = 0.0;
        // Every service accounts for its telemetry (exported, and dropped once anything is).
        let mut accounted_everywhere = true;
        for s in SERVICES {
            let text = self.metrics(s).await;
            accounted_everywhere &= text.contains("apiary_telemetry_exported_items_total");
            dropped_after += metric_sum(&text, "apiary_telemetry_dropped_items_total", &[]);
        }
        let growth = rss_before
            .iter()
            .zip(&rss_after)
            .zip(&pids)
            .map(|((b, a), (name, _))| (a - b, *name, *b))
            .fold((f64::MIN, "", 0.0), |m, g| if g.0 > m.0 { g } else { m });
        let (errors, requests) = (num(&results["errors"]), num(&results["requests"]));
        let (p99, p99_base) = (
            num(&results["latency_ms"]["p99"]),
            num(&baseline["latency_ms"]["p99"]),
        );
        let p99_ok = p99 <= (p99_base * 1.10).max(p99_base + 10.0);
        let p99_note = if p99_ok { "within" } else { "OUTSIDE" };
        let memory_flat = growth.0 <= (growth.2 * 0.10).max(8.0);
        Verdict {
            scenario: "dashboard (the OTLP receiver) killed and restarted under load".into(),
            promise: "0 failed shopper requests; services' memory flat; dropped telemetry counted (p99 reported)",
            measured: format!(
                "{errors} of {requests} requests failed; p99 {p99:.1} ms (undisturbed {p99_base:.1} ms, {p99_note} 10%/10 ms; reported, not asserted); dashboard back in {:.1} s; largest RSS change {:+.1} MiB ({}); {:.0} telemetry items dropped (counted)",
                away.as_secs_f64(),
                growth.0,
                growth.1,
                dropped_after - dropped_before
            ),
            // p99 is a speed figure: reported, not asserted (it flakes on a shared 2-core
            // machine; see DEVELOPERS' rules on timed tests).
            kept: errors == 0.0 && memory_flat && accounted_everywhere,
        }
    }

    async fn downstream_answers_503(&self) -> Verdict {
        const RATE: f64 = 20.0;
        let run = self.load("catalog-503", Some(PRODUCT_PAGES), RATE, 20);
        // The shoppers read the catalog first; fault it once they are under way.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let callee = |t: &str| {
            metric_sum(
                t,
                "http_server_request_duration_seconds_count",
                &[r#"http_route="/products/{id}""#],
            )
        };
        let caller = |t: &str| {
            metric_sum(
                t,
                "http_server_request_duration_seconds_count",
                &[r#"http_route="/api/products/{id}""#],
            )
        };
        // Counted from before the fault, so the first second of retries (before the gateway's
        // circuit breaker opens) is in the figure.
        let (callee_0, caller_0) = (
            callee(&self.metrics("catalog").await),
            caller(&self.metrics("gateway").await),
        );
        self.set_fault(json!({"kind": "error-rate", "service": "catalog", "percent": 100, "status": 503, "ttl_s": 60}))
            .await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let (callee_1, caller_1) = (
            callee(&self.metrics("catalog").await),
            caller(&self.metrics("gateway").await),
        );
        self.reset_faults().await;
        run.results().await;
        let offered = caller_1 - caller_0;
        let reached = callee_1 - callee_0;
        let amplification = if offered > 0.0 {
            reached / offered
        } else {
            f64::INFINITY
        };
        Verdict {
            scenario: "catalog answers 100% 503 (product pages at 20/s)".into(),
            promise: "retry amplification <= 1.2x the offered load, counted at the callee",
            measured: format!(
                "{offered:.0} product pages offered, {reached:.0} calls reached catalog: {amplification:.2}x"
            ),
            kept: offered > 50.0 && amplification <= 1.2,
        }
    }

    async fn durable_service_killed_mid_checkout(&self, service: &str) -> Verdict {
        let run = self.load(&format!("kill-{service}"), Some(BUYERS), 6.0, 14);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let starts = self.launcher.pids_of(service).len();
        kill(Pid::from_raw(self.pid(service)), Signal::SIGKILL).expect("kill");
        self.started(service, starts + 1).await;
        let results = run.results().await;
        self.ready(service).await;
        settle(&self.http, &self.stack, Duration::from_secs(90)).await;
        // Panics, naming the discrepancy, when the owners disagree.
        let orders = reconcile_owners(&self.http, &self.stack).await;
        let checkouts = results["steps"]
            .as_array()
            .and_then(|steps| steps.iter().find(|s| s["step"] == "checkout"))
            .map_or(0.0, |s| num(&s["requests"]));
        Verdict {
            scenario: format!("{service} killed (SIGKILL) mid-checkout"),
            promise: "0 double charges, 0 lost orders, stock reconciles, nothing held",
            measured: format!(
                "{checkouts:.0} checkouts under way, {} shopper errors while {service} restarted; ledger = orders = units sold over all {} orders so far, 0 held",
                num(&results["errors"]),
                orders.len()
            ),
            kept: true,
        }
    }

    async fn overload_at_the_gateway(&self) -> Verdict {
        let capacity_run = self
            .load_with(
                "capacity",
                Some(PRODUCT_PAGES),
                &["--closed-loop", "64", "--timeout", "15s"],
                10,
            )
            .results()
            .await;
        let capacity = (num(&capacity_run["requests"]) - num(&capacity_run["errors"]))
            / num(&capacity_run["elapsed_s"]).max(1.0);
        let shed_before = metric_sum(
            &self.metrics("gateway").await,
            "http_server_shed_total",
            &[],
        );
        let rate = (2.0 * capacity).round().max(2.0);
        let overload = self
            .load_with(
                "overload",
                Some(PRODUCT_PAGES),
                &[
                    "--rate",
                    &rate.to_string(),
                    "--timeout",
                    "15s",
                    "--max-in-flight",
                    "4000",
                ],
                10,
            )
            .results()
            .await;
        let gateway = self.metrics("gateway").await;
        let shed = metric_sum(&gateway, "http_server_shed_total", &[]) - shed_before;
        let goodput = (num(&overload["requests"]) - num(&overload["errors"]))
            / num(&overload["elapsed_s"]).max(1.0);
        let max_ms = num(&overload["latency_ms"]["max"]);
        // The gateway's request deadline (ServeLimits' default).
        let deadline_ms = 10_000.0;
        let classes = overload["errors_by_class"].to_string();
        Verdict {
            scenario: format!("2x overload at the gateway ({rate:.0} product pages/s offered)"),
            promise: "answers within its deadline + 5%; shed requests are 503s (goodput vs capacity reported)",
            measured: format!(
                "capacity {capacity:.0}/s (closed loop, 64 users); goodput {goodput:.0}/s ({:.0}%, reported, not asserted); slowest answer {max_ms:.0} ms (deadline {deadline_ms:.0} ms); {shed:.0} shed; errors {classes}",
                100.0 * goodput / capacity.max(1.0)
            ),
            // Goodput is a throughput figure: reported, not asserted (the load generator
            // shares the two cores; with the edge admitting 512 at once it was 56-95% here,
            // with EDGE_MAX_IN_FLIGHT = 96, 77-97%).
            // Asserted: answers within the deadline, and shed answers are the only errors.
            kept: max_ms <= deadline_ms * 1.05
                && overload["errors_by_class"]
                    .as_object()
                    .is_some_and(|c| c.keys().all(|k| k == "http_503"))
                && num(&overload["errors"]) <= shed,
        }
    }

    async fn otlp_flood(&self) -> Verdict {
        const SENDERS: usize = 48;
        const SPANS: usize = 500;
        const FLOOD: Duration = Duration::from_secs(12);
        // The dashboard's own bounds (dashboard/README.md): 64 MiB of spans, 32 MiB of logs,
        // 256 MiB of request bodies in flight, plus its code, the UI and the series.
        const LIMIT_MIB: f64 = 512.0;
        let pid = self.pid("dashboard");
        let starts = self.launcher.pids_of("dashboard").len();
        let rss_before = rss_mib(pid);
        let until = Instant::now() + FLOOD;
        let senders: Vec<_> = (0..SENDERS)
            .map(|sender| {
                let (http, url) = (self.http.clone(), self.otlp_http.clone());
                tokio::spawn(async move {
                    // A few distinct bodies per sender, built once: sending must cost little.
                    let bodies: Vec<String> =
                        (0..4).map(|b| flood_body(sender, b, SPANS)).collect();
                    let (mut accepted, mut refused, mut other, mut without_retry_after) =
                        (0_u64, 0_u64, 0_u64, 0_u64);
                    let mut cut = 0_u64;
                    let mut n = 0;
                    while Instant::now() < until {
                        let sent = http
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(bodies[n % bodies.len()].clone())
                            .send()
                            .await;
                        n += 1;
                        match sent {
                            Ok(r) if r.status().is_success() => accepted += 1,
                            Ok(r) if matches!(r.status().as_u16(), 429 | 503) => {
                                refused += 1;
                                if r.headers().get("retry-after").is_none() {
                                    without_retry_after += 1;
                                }
                            }
                            Ok(_) => other += 1,
                            // Refused before its body was read, the connection closes; a
                            // sender still writing may see that instead of the 429/503.
                            Err(_) => cut += 1,
                        }
                    }
                    (accepted, refused, other, without_retry_after, cut)
                })
            })
            .collect();
        let mut rss = Vec::new();
        while Instant::now() < until {
            rss.push(rss_mib(pid));
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let (mut accepted, mut refused, mut other, mut without_retry_after, mut cut) =
            (0, 0, 0, 0, 0);
        for s in senders {
            let (a, r, o, w, c) = s.await.expect("sender");
            accepted += a;
            refused += r;
            other += o;
            without_retry_after += w;
            cut += c;
        }
        let peak = rss.iter().copied().fold(0.0, f64::max);
        let last_third = &rss[rss.len() * 2 / 3..];
        let middle_third = &rss[rss.len() / 3..rss.len() * 2 / 3];
        let late_peak = last_third.iter().copied().fold(0.0, f64::max);
        let middle_peak = middle_third.iter().copied().fold(0.0, f64::max);
        let plateau = late_peak <= (middle_peak * 1.10).max(middle_peak + 16.0);
        let restarted = self.launcher.pids_of("dashboard").len() > starts;
        let secs = FLOOD.as_secs_f64();
        let offered = (accepted + refused + other + cut) as f64 * SPANS as f64 / secs;
        let ingested = accepted as f64 * SPANS as f64 / secs;
        Verdict {
            scenario: format!(
                "OTLP/HTTP flood at {:.0}x the dashboard's ingest capacity ({INGEST_BUDGET} items/s)",
                offered / f64::from(INGEST_BUDGET)
            ),
            promise: "dashboard memory plateaus under its limit; 429/503 with Retry-After; no crash",
            measured: format!(
                "{SENDERS} senders offered {offered:.0} spans/s for {secs:.0} s, {ingested:.0}/s ingested; {refused} refusals (429/503), {without_retry_after} without Retry-After, {other} other answers, {cut} connections closed mid-upload after an early refusal; RSS {rss_before:.0} -> peak {peak:.0} MiB (limit {LIMIT_MIB:.0}), {middle_peak:.0} mid-flood, {late_peak:.0} at the end; restarted: {restarted}"
            ),
            kept: peak <= LIMIT_MIB
                && plateau
                && refused > 0
                && without_retry_after == 0
                && other == 0
                && !restarted,
        }
    }

    /// Every service's `/openapi.json` under schemathesis with every check, one service
    /// after the other against the live stack (no faults set).
    async fn contracts_under_schemathesis(&self) -> Verdict {
        /// Each service's time budget: the examples and coverage phases finish well within
        /// it, fuzzing and stateful testing repeat until it is spent.
        const SECONDS_PER_SERVICE: u64 = 30;
        self.reset_faults().await;
        let config =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contracts/schemathesis.toml");
        let mut generated = 0_u64;
        let mut failed = Vec::new();
        for service in SERVICES {
            let output = self.dir.join(format!("schemathesis-{service}.txt"));
            let log = std::fs::File::create(&output).expect("schemathesis log");
            let mut child = Command::new("schemathesis")
                .arg("--config-file")
                .arg(&config)
                .args(["run", &format!("{}/openapi.json", self.stack.url(service))])
                .args(["--checks", "all", "--max-examples", "25", "--workers", "1"])
                .args(["--max-time", &SECONDS_PER_SERVICE.to_string()])
                .args(["--seed", "7", "--no-color"])
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("schemathesis not found: scripts/test.sh installs it (pip install schemathesis==4.32.5)");
            let deadline = Instant::now() + Duration::from_secs(SECONDS_PER_SERVICE + 120);
            let status = loop {
                if let Some(status) = child.try_wait().expect("schemathesis status") {
                    break Some(status);
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            let text = std::fs::read_to_string(&output).unwrap_or_default();
            let cases = schemathesis_cases(&text);
            generated += cases;
            let clean = status.is_some_and(|s| s.success()) && cases > 0;
            eprintln!(
                "schemathesis {service}: {cases} cases, {}",
                match status {
                    Some(s) if clean => format!("clean ({s})"),
                    Some(s) => format!("FAILED ({s}); output in {}", output.display()),
                    None => "did not finish in time".to_owned(),
                }
            );
            if !clean {
                // The failures section names each operation, check and a curl to reproduce.
                let failures = text
                    .split("FAILURES")
                    .nth(1)
                    .and_then(|rest| rest.split("SUMMARY").next())
                    .unwrap_or(&text);
                eprintln!("{failures}");
                failed.push(service);
            }
        }
        Verdict {
            scenario: "every service's OpenAPI under schemathesis".to_owned(),
            promise: "0 server errors; responses conform to the documents; valid requests accepted, invalid refused with a 4xx",
            measured: format!(
                "{} services, {generated} generated test cases (all checks, {SECONDS_PER_SERVICE} s each); failing: {}",
                SERVICES.len(),
                if failed.is_empty() {
                    "none".to_owned()
                } else {
                    failed.join(", ")
                }
            ),
            kept: failed.is_empty(),
        }
    }

    async fn sigterm_with_requests_in_flight(&self) -> Verdict {
        const IN_FLIGHT: usize = 24;
        // Slow every catalog request so that many are in flight when the signal arrives.
        self.set_fault(json!({"kind": "latency", "service": "catalog", "ms": 800, "percent": 100, "ttl_s": 60}))
            .await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let catalog = self.stack.url("catalog");
        let started = Instant::now();
        let requests: Vec<_> = (0..IN_FLIGHT)
            .map(|i| {
                let (http, url) = (
                    self.http.clone(),
                    format!("{catalog}/products/BK-{:04}", i + 1),
                );
                tokio::spawn(async move {
                    match http.get(url).send().await {
                        Ok(r) => r.status().as_u16(),
                        Err(_) => 0,
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let starts = self.launcher.pids_of("catalog").len();
        kill(Pid::from_raw(self.pid("catalog")), Signal::SIGTERM).expect("SIGTERM");
        let mut answered = 0;
        for r in requests {
            if r.await.expect("request task") == 200 {
                answered += 1;
            }
        }
        self.started("catalog", starts + 1).await;
        let exit = self
            .launcher
            .output()
            .lines()
            .rfind(|l| l.contains("catalog exited"))
            .unwrap_or_default()
            .to_owned();
        self.reset_faults().await;
        self.ready("catalog").await;
        // The slow requests' spans were exported before the process ended.
        let mut spans = 0;
        for _ in 0..20 {
            let traces: Value = self
                .http
                .get(format!(
                    "{}/api/traces?service=catalog&min_duration_ms=700&limit=100",
                    self.dashboard
                ))
                .send()
                .await
                .expect("traces")
                .json()
                .await
                .expect("json");
            spans = traces.as_array().map_or(0, Vec::len);
            if spans >= IN_FLIGHT {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let exited_zero = exit.contains("exit status: 0");
        Verdict {
            scenario: format!("SIGTERM to catalog with {IN_FLIGHT} slow requests in flight"),
            promise: "0 failed in-flight requests, spans flushed, exit 0",
            measured: format!(
                "{answered} of {IN_FLIGHT} answered 200 (last after {:.1} s); {spans} of their spans at the dashboard; {}",
                started.elapsed().as_secs_f64(),
                exit.split("catalog ").nth(1).unwrap_or("no exit line")
            ),
            kept: answered == IN_FLIGHT && spans >= IN_FLIGHT && exited_zero,
        }
    }
}

/// An OTLP/JSON export of `spans` server spans from a service outside the stack, each with its
/// own trace, span and high-cardinality `url.path`.
/// The test cases a schemathesis run reports in its summary ("4311 generated, ...").
fn schemathesis_cases(output: &str) -> u64 {
    output
        .lines()
        .filter_map(|line| line.trim().split_once(" generated"))
        .filter_map(|(n, _)| n.trim().parse().ok())
        .next_back()
        .unwrap_or(0)
}

fn flood_body(sender: usize, body: usize, spans: usize) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let list: Vec<Value> = (0..spans)
        .map(|i| {
            let id = (sender << 40) | (body << 24) | i;
            json!({
                "traceId": format!("{:032x}", (id as u128 + 0xf100d) << 64),
                "spanId": format!("{:016x}", id + 1),
                "name": "GET /carts/{cart_id}",
                "kind": 2,
                "startTimeUnixNano": (now - 5_000_000).to_string(),
                "endTimeUnixNano": now.to_string(),
                "attributes": [
                    {"key": "http.request.method", "value": {"stringValue": "GET"}},
                    {"key": "url.path", "value": {"stringValue": format!("/carts/{sender}-{body}-{i}")}},
                    {"key": "http.response.status_code", "value": {"intValue": "200"}}
                ]
            })
        })
        .collect();
    json!({
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "flood"}}]},
            "scopeSpans": [{"scope": {"name": "fault-tolerance-suite"}, "spans": list}]
        }]
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs release binaries and a few minutes; scripts/test.sh runs it"]
async fn the_stack_keeps_its_fault_tolerance_promises() {
    let suite = Suite::start().await;
    let mut verdicts = Vec::new();
    let mut report = |v: Verdict| {
        // Each row as soon as it is known: a scenario that panics leaves the others' figures.
        eprintln!("{}", v.row());
        verdicts.push(v);
    };
    report(suite.dashboard_killed_under_load().await);
    report(suite.downstream_answers_503().await);
    for service in ["orders", "inventory", "payment", "checkout"] {
        report(suite.durable_service_killed_mid_checkout(service).await);
    }
    report(suite.sigterm_with_requests_in_flight().await);
    report(suite.overload_at_the_gateway().await);
    // It leaves a service called "flood" in the dashboard.
    report(suite.otlp_flood().await);
    // Last: schemathesis places orders, charges and reservations that no checkout made, so
    // the reconciliations above must have run before it.
    report(suite.contracts_under_schemathesis().await);

    let mut table =
        String::from("| scenario | promise | measured | verdict |\n|---|---|---|---|\n");
    for v in &verdicts {
        table.push_str(&v.row());
        table.push('\n');
    }
    println!("\nfault-tolerance suite\n{table}");
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../artifacts");
    if std::fs::create_dir_all(&artifacts).is_ok() {
        let _ = std::fs::write(artifacts.join("fault-tolerance.md"), &table);
    }
    let broken: Vec<&str> = verdicts
        .iter()
        .filter(|v| !v.kept)
        .map(|v| v.scenario.as_str())
        .collect();
    assert!(broken.is_empty(), "promises broken: {broken:?}\n{table}");
    drop(suite);
}

#[test]
fn schemathesis_summaries_give_their_case_counts() {
    let clean = "Test cases:\n  4311 generated, 4311 passed\n\nSeed: 7\n";
    assert_eq!(schemathesis_cases(clean), 4311);
    let failing = "Test cases:\n  4510 generated, 4 found 4 unique failures\n";
    assert_eq!(schemathesis_cases(failing), 4510);
    assert_eq!(schemathesis_cases("error: connection refused"), 0);
}
