//! The dashboard's benchmark: the real `dashboard` binary, pinned to one core with `taskset`,
//! receives 1,024,000 realistic spans over OTLP/HTTP protobuf in 512-span batches; then its
//! memory is read with 1,000,000 spans held and the API's latencies are sampled.
//!
//!   cargo bench -p dashboard --bench dashboard
//!
//! Prints a Markdown table (the README's). Loopback only; every phase is bounded in count.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;

mod support;
use support::{BATCH, Server, batch, export_all, rss_mib};

const BATCHES: usize = 2000;
const HELD: usize = 1_000_000;
const CONCURRENCY: usize = 4;
const QUERIES: usize = 200;

use apiary_testkit::free_port;

/// Ten services, as the stack has; the dashboard's bench runs without them (spans only).
const SERVICES: [&str; 10] = [
    "svc-0", "svc-1", "svc-2", "svc-3", "svc-4", "svc-5", "svc-6", "svc-7", "svc-8", "svc-9",
];

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let idx = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

async fn sample(http: &reqwest::Client, url: &str) -> (f64, f64) {
    let mut ms = Vec::with_capacity(QUERIES);
    for _ in 0..QUERIES {
        let start = Instant::now();
        let resp = http.get(url).send().await.expect("query");
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        let _ = resp.bytes().await.expect("body");
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 0.5), percentile(&ms, 0.99))
}

/// Keeps the load generator off the dashboard's core.
fn pin_self_to_core_1() {
    let mut set = nix::sched::CpuSet::new();
    if set.set(1).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    pin_self_to_core_1();
    let (ui, grpc, otlp) = (free_port(), free_port(), free_port());
    let server = Command::new("taskset")
        .args(["-c", "0", env!("CARGO_BIN_EXE_dashboard")])
        .env("APIARY_PORT", ui.to_string())
        .env("DASHBOARD_OTLP_GRPC_PORT", grpc.to_string())
        .env("DASHBOARD_OTLP_HTTP_PORT", otlp.to_string())
        .env("DASHBOARD_MAX_SPANS", HELD.to_string())
        // A million spans take more than the default 64 MiB byte budget.
        .env("DASHBOARD_MAX_SPAN_BYTES", (1_u64 << 30).to_string())
        .env("DASHBOARD_INGEST_BUDGET", "1000000000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .map(Server)
        .expect("start the dashboard under taskset");
    let pid = server.0.id();
    let http = reqwest::Client::new();
    let api = format!("http://127.0.0.1:{ui}");
    support::wait_ready(&http, &api).await;
    let idle = rss_mib(pid);

    eprintln!("encoding {BATCHES} batches of {BATCH} spans…");
    // Shared bytes: cloning a batch per request copies nothing.
    let batches: std::sync::Arc<Vec<Bytes>> = std::sync::Arc::new(
        (0..BATCHES)
            .map(|n| Bytes::from(batch(n, &SERVICES)))
            .collect(),
    );
    let bytes_total: usize = batches.iter().map(|b| b.len()).sum();
    let start = Instant::now();
    export_all(
        &http,
        &format!("http://127.0.0.1:{otlp}/v1/traces"),
        batches,
        CONCURRENCY,
    )
    .await;
    let secs = start.elapsed().as_secs_f64();
    let spans_per_sec = (BATCHES * BATCH) as f64 / secs;

    let stats: serde_json::Value = http
        .get(format!("{api}/api/store"))
        .send()
        .await
        .expect("store")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["spans"].as_u64(), Some(HELD as u64), "{stats}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = rss_mib(pid);

    let (services_p50, services_p99) = sample(&http, &format!("{api}/api/services")).await;
    let (search_p50, search_p99) = sample(&http, &format!("{api}/api/traces?limit=20")).await;
    let (filtered_p50, filtered_p99) = sample(
        &http,
        &format!("{api}/api/traces?service=svc-3&status=error&min_duration_ms=50&limit=20"),
    )
    .await;
    let (logs_p50, logs_p99) = sample(&http, &format!("{api}/api/logs?q=timeout&limit=50")).await;

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    println!(
        "machine: {cpu}; dashboard pinned to core 0 (taskset), load generator to core 1; {} traces held",
        stats["traces"]
    );
    println!("| measure | target | measured |");
    println!("|---|---|---|");
    println!(
        "| OTLP/HTTP protobuf ingest, 512-span batches, {CONCURRENCY} connections | >= 200,000 spans/s | {spans_per_sec:.0} spans/s ({:.1} MB/s of protobuf) |",
        bytes_total as f64 / secs / 1e6
    );
    println!("| memory (RSS), idle | | {idle:.0} MiB |");
    println!(
        "| memory (RSS), 1,000,000 spans held | <= 256 MB | {held:.0} MiB ({:.0} MB) |",
        held * 1.048_576
    );
    println!(
        "| `GET /api/services` with 1,000,000 spans held | p99 <= 10 ms | p50 {services_p50:.2} ms, p99 {services_p99:.2} ms |"
    );
    println!(
        "| `GET /api/traces?limit=20` | p99 <= 50 ms | p50 {search_p50:.2} ms, p99 {search_p99:.2} ms |"
    );
    println!(
        "| `GET /api/traces?service=&status=error&min_duration_ms=50` | p99 <= 50 ms | p50 {filtered_p50:.2} ms, p99 {filtered_p99:.2} ms |"
    );
    println!(
        "| `GET /api/logs?q=` (empty log store) | | p50 {logs_p50:.2} ms, p99 {logs_p99:.2} ms |"
    );
}
