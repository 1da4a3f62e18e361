//! The UI with a million spans held: the whole stack (`apiary up`, release binaries) with
//! shoppers, the dashboard filled with 1,000,000 more spans over OTLP/HTTP (spans of the same ten
//! services, shaped like theirs), then every page opened in Debian's headless Chromium and
//! watched for ten seconds of live updates: how long until it is hydrated and live, how big
//! the page was, long tasks (main thread busy > 50 ms), the worst gap between animation
//! frames, and layout shift.
//!
//!   cargo build --release --workspace --bins
//!   cargo run --release -p apiary-ui-build
//!   cargo bench -p dashboard-ui --bench million_spans
//!
//! Prints a Markdown table (the README's). Loopback only; every phase is bounded in count and
//! time. Screenshots go to `artifacts/bench/`.

#[allow(dead_code)]
#[path = "../tests/browser/stack.rs"]
mod stack;
#[path = "../../benches/support/mod.rs"]
mod support;
#[allow(dead_code)]
#[path = "../tests/browser/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use stack::{Stack, Traffic, free_port, get_json, repo_root, temp_dir};
use support::{BATCH, batch, export_all};
use webdriver::Driver;

const HELD: usize = 1_000_000;
const BATCHES: usize = HELD / BATCH + 8;
const CONCURRENCY: usize = 2;
const WATCH: Duration = Duration::from_secs(10);

/// Installed once the page is live: long tasks, layout shifts and the gaps between animation
/// frames, from now on.
const OBSERVE: &str = r#"
const p = { long: [], shift: 0, gaps: [], last: performance.now(), since: performance.now() };
window.__apiaryPerf = p;
new PerformanceObserver(l => l.getEntries().forEach(e => p.long.push(e.duration)))
  .observe({ type: 'longtask' });
new PerformanceObserver(l => l.getEntries().forEach(e => { if (!e.hadRecentInput) p.shift += e.value; }))
  .observe({ type: 'layout-shift' });
const tick = t => { p.gaps.push(t - p.last); p.last = t; if (p.gaps.length < 10000) requestAnimationFrame(tick); };
requestAnimationFrame(tick);
return null;
"#;

const COLLECT: &str = r#"
const p = window.__apiaryPerf;
const gaps = p.gaps.slice().sort((a, b) => a - b);
const q = f => gaps.length ? gaps[Math.min(gaps.length - 1, Math.floor(f * gaps.length))] : null;
return {
  secs: (performance.now() - p.since) / 1000,
  frames: gaps.length,
  gap_p99: q(0.99),
  gap_max: gaps.length ? gaps[gaps.length - 1] : null,
  long_tasks: p.long.length,
  long_max: p.long.length ? Math.max(...p.long) : 0,
  long_total: p.long.reduce((a, b) => a + b, 0),
  cls: p.shift,
  heap_mib: performance.memory ? performance.memory.usedJSHeapSize / 1048576 : null,
};
"#;

const NAV: &str = r#"
const n = performance.getEntriesByType('navigation')[0];
return { ttfb: n.responseStart - n.requestStart, html_kib: n.encodedBodySize / 1024,
         html_raw_kib: n.decodedBodySize / 1024, dom: n.domContentLoadedEventEnd };
"#;

fn has(cmd: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {cmd} >/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

fn ms(v: &Value) -> String {
    v.as_f64().map_or("–".to_owned(), |x| format!("{x:.0} ms"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let site = std::env::var_os("DASHBOARD_SITE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/site"));
    let mut missing = Vec::new();
    if !site.join("pkg/dashboard.wasm").is_file() {
        missing.push(format!(
            "the UI bundle in {} (cargo run --release -p apiary-ui-build)",
            site.display()
        ));
    }
    for cmd in ["chromium", "chromedriver"] {
        if !has(cmd) {
            missing.push(format!("{cmd} (Debian packages chromium, chromium-driver)"));
        }
    }
    let bins = stack::bin_dir();
    if !bins.join("dashboard").is_file() {
        missing.push(format!(
            "the release binaries in {} (cargo build --release --workspace --bins)",
            bins.display()
        ));
    }
    if !missing.is_empty() {
        eprintln!("million_spans: cannot run, missing:");
        for m in missing {
            eprintln!("  - {m}");
        }
        return ExitCode::from(2);
    }

    let dir = temp_dir("million");
    let shots = repo_root().join("artifacts/bench");
    std::fs::create_dir_all(&shots).expect("artifacts dir");
    let held = HELD.to_string();
    // A million spans take more than the default 64 MiB byte budget.
    let bytes = (1_u64 << 30).to_string();
    let stack = Stack::start_with(
        &dir,
        &site,
        &[
            ("DASHBOARD_MAX_SPANS", held.as_str()),
            ("DASHBOARD_MAX_SPAN_BYTES", bytes.as_str()),
        ],
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    stack.wait_all_up(&http, Duration::from_secs(90)).await;
    let traffic = Traffic::start(&stack.gateway, 4);
    let base = stack.dashboard.clone();

    let manifest = apiary_manifest::Manifest::load(&repo_root().join("apiary.toml"))
        .expect("the repository's apiary.toml");
    let names: Vec<&str> = manifest.services.iter().map(|s| s.name.as_str()).collect();
    eprintln!("encoding {BATCHES} batches of {BATCH} spans…");
    let batches: Arc<Vec<bytes::Bytes>> = Arc::new(
        (0..BATCHES)
            .map(|n| bytes::Bytes::from(batch(n, &names)))
            .collect(),
    );
    let started = Instant::now();
    export_all(
        &http,
        &format!("{}/v1/traces", stack.otlp_http),
        batches,
        CONCURRENCY,
    )
    .await;
    let stats = get_json(&http, &format!("{base}/api/store")).await;
    eprintln!(
        "filled in {:.1} s: {stats}",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        stats["spans"].as_u64(),
        Some(HELD as u64),
        "the store holds a million spans"
    );

    // A live trace for the waterfall page (the synthetic ones are older).
    let traces = get_json(
        &http,
        &format!("{base}/api/traces?service=checkout&limit=1"),
    )
    .await;
    let trace_id = traces[0]["trace_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let pages = [
        ("overview", "/".to_owned()),
        ("business", "/business".to_owned()),
        ("service map", "/map".to_owned()),
        ("service (checkout)", "/services/checkout".to_owned()),
        ("traces", "/traces".to_owned()),
        (
            "traces, filtered",
            "/traces?service=catalog&status=error&min_duration_ms=50".to_owned(),
        ),
        ("trace waterfall", format!("/traces/{trace_id}")),
        ("logs", "/logs".to_owned()),
    ];

    let driver = Driver::start(free_port()).await;
    let profile = temp_dir("chromium");
    let s = driver.session(&profile).await;
    let mut rows = Vec::new();
    for (name, path) in &pages {
        let opened = Instant::now();
        s.goto(&format!("{base}{path}")).await;
        s.wait_for(
            &format!("{name} to hydrate and go live"),
            Duration::from_secs(30),
            "return !!document.querySelector('.conn.on')",
            |v| *v == true,
        )
        .await;
        let live_ms = opened.elapsed().as_millis();
        let nav = s.script(NAV).await;
        s.script(OBSERVE).await;
        tokio::time::sleep(WATCH).await;
        let perf = s.script(COLLECT).await;
        let file = name.replace([' ', '(', ')', ','], "-");
        s.screenshot(&shots.join(format!("million-{file}.png")))
            .await;
        eprintln!("{name}: live after {live_ms} ms; {nav}; {perf}");
        rows.push((*name, live_ms, nav, perf));
    }
    s.quit().await;
    let stats = get_json(&http, &format!("{base}/api/store")).await;
    traffic.finish().await;
    drop(stack);
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "{} spans held at the end; each page watched for {} s of live updates (shoppers running)",
        stats["spans"],
        WATCH.as_secs()
    );
    println!(
        "| page | open -> live | first byte | HTML (gzip / raw) | long tasks (> 50 ms) | worst frame gap | frames/s | layout shift | JS heap |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, live_ms, nav, perf) in rows {
        let secs = perf["secs"].as_f64().unwrap_or(1.0).max(0.001);
        println!(
            "| {name} | {live_ms} ms | {} | {:.0} / {:.0} KiB | {} ({} longest) | {} | {:.0} | {:.3} | {} |",
            ms(&nav["ttfb"]),
            nav["html_kib"].as_f64().unwrap_or(0.0),
            nav["html_raw_kib"].as_f64().unwrap_or(0.0),
            perf["long_tasks"],
            ms(&perf["long_max"]),
            ms(&perf["gap_max"]),
            perf["frames"].as_f64().unwrap_or(0.0) / secs,
            perf["cls"].as_f64().unwrap_or(0.0),
            perf["heap_mib"]
                .as_f64()
                .map_or("–".to_owned(), |m| format!("{m:.1} MiB")),
        );
    }
    ExitCode::SUCCESS
}
