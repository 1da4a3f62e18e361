//! The dashboard's compressed soak: a day of a busy shop's spans in minutes. The real
//! `dashboard` binary, with its default bounds, receives over OTLP/HTTP protobuf 5,120,000
//! spans from the shop's ten services, every span carrying high-cardinality values — a cart
//! id in `url.path`, a checkout id, a session id — while its memory is sampled. Then a service
//! it has never seen sends one span.
//!
//! It passes when memory is flat after warm-up (the second half's peak never rises more than
//! 10% or 8 MiB above the peak between a quarter and half of the run), every service is still
//! listed by name (the ten are the dashboard's manifest, as under `apiary up`) and found by a
//! search on its name, nothing is named "(other)", and the newcomer is on the map and found.
//! Prints a Markdown table (the README's) and exits non-zero when a check fails.
//!
//!   cargo bench -p dashboard --bench soak                    # 10,000 batches of 512 spans
//!   SOAK_BATCHES=2000 cargo bench -p dashboard --bench soak  # a shorter run
//!
//! Loopback only; bounded by count.

use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apiary_testkit::free_port;

// Only the process helpers: this bench makes its own high-cardinality spans.
#[allow(dead_code)]
mod support;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use support::{Server, rss_mib};

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
const BATCH: usize = 512;
const CONCURRENCY: usize = 4;
/// Memory is sampled after every this many batches.
const SAMPLE_EVERY: usize = 250;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// Batch `n`: 512 server spans of one service, each with values never seen before.
fn batch(n: usize, service: &str, now_ns: u64) -> Vec<u8> {
    let spans = (0..BATCH)
        .map(|i| {
            let k = (n * BATCH + i) as u64;
            Span {
                trace_id: (u128::from(k) + 1).to_be_bytes().to_vec(),
                span_id: (k + 1).to_be_bytes().to_vec(),
                name: "GET /api/carts/{cart_id}".into(),
                kind: 2,
                start_time_unix_nano: now_ns + k * 1000,
                end_time_unix_nano: now_ns + k * 1000 + 3_000_000,
                attributes: vec![
                    kv("http.request.method", "GET"),
                    kv("http.route", "/api/carts/{cart_id}"),
                    kv("url.path", &format!("/api/carts/{k:032x}")),
                    kv("apiary.checkout_id", &format!("co-{k:016x}")),
                    kv("session.id", &format!("s-{:012x}", k / 7)),
                ],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", service),
                    kv("service.namespace", "apiary"),
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

async fn get_json(http: &reqwest::Client, url: &str) -> serde_json::Value {
    http.get(url)
        .send()
        .await
        .expect("query")
        .json()
        .await
        .expect("json")
}

/// `service` is listed by name — among the watched services of `/api/services` when `watched`
/// (the manifest's), else among the map's nodes (`/api/topology`: every service seen in
/// spans) — and a search on its name finds its traces.
async fn findable(http: &reqwest::Client, api: &str, service: &str, watched: bool) -> bool {
    let listed = if watched {
        get_json(http, &format!("{api}/api/services")).await
    } else {
        get_json(http, &format!("{api}/api/topology")).await["nodes"].clone()
    }
    .as_array()
    .is_some_and(|l| l.iter().any(|s| s["name"] == service));
    let found = get_json(http, &format!("{api}/api/traces?service={service}&limit=1"))
        .await
        .as_array()
        .is_some_and(|t| !t.is_empty());
    listed && found
}

#[tokio::main]
async fn main() -> ExitCode {
    let batches: usize = std::env::var("SOAK_BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let (ui, grpc, otlp) = (free_port(), free_port(), free_port());
    // The ten services are the dashboard's watched services, as under `apiary up`; nothing
    // listens at their ports, so their figures come from the spans alone.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let manifest = dir.path().join("apiary.toml");
    let mut text = String::from(
        "[stack]\nhost = \"127.0.0.1\"\nnamespace = \"apiary\"\nenvironment = \"soak\"\n\
         [telemetry]\notlp_endpoint = \"http://127.0.0.1:4317\"\notlp_protocol = \"grpc\"\n",
    );
    for service in SERVICES {
        text.push_str(&format!(
            "[[services]]\nname = \"{service}\"\nport = {}\n",
            free_port()
        ));
    }
    std::fs::write(&manifest, text).expect("the soak's manifest");
    let server = Command::new(env!("CARGO_BIN_EXE_dashboard"))
        .env("APIARY_MANIFEST", &manifest)
        .env("APIARY_PORT", ui.to_string())
        .env("DASHBOARD_OTLP_GRPC_PORT", grpc.to_string())
        .env("DASHBOARD_OTLP_HTTP_PORT", otlp.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .map(Server)
        .expect("start the dashboard");
    let pid = server.0.id();
    let http = reqwest::Client::new();
    let api = format!("http://127.0.0.1:{ui}");
    support::wait_ready(&http, &api).await;
    let idle = rss_mib(pid);
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);

    eprintln!("sending {batches} batches of {BATCH} high-cardinality spans…");
    let next = Arc::new(AtomicUsize::new(0));
    let samples = Arc::new(std::sync::Mutex::new(Vec::<(usize, f64)>::new()));
    let url = format!("http://127.0.0.1:{otlp}/v1/traces");
    let start = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (http, url, next, samples) =
                (http.clone(), url.clone(), next.clone(), samples.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= batches {
                        return;
                    }
                    let body = batch(n, SERVICES[n % SERVICES.len()], now_ns);
                    // A refusal (429/503 with Retry-After) is the dashboard protecting itself:
                    // wait as told and send the same batch again (bounded).
                    for _ in 0..50 {
                        let resp = http
                            .post(&url)
                            .header("content-type", "application/x-protobuf")
                            .body(body.clone())
                            .send()
                            .await
                            .expect("export");
                        match resp.status().as_u16() {
                            200 => break,
                            429 | 503 => tokio::time::sleep(Duration::from_millis(200)).await,
                            other => panic!("batch {n}: {other}"),
                        }
                    }
                    if n % SAMPLE_EVERY == 0 {
                        samples
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((n, rss_mib(pid)));
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("an export worker");
    }
    let secs = start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let end_rss = rss_mib(pid);

    let mut samples = samples.lock().unwrap_or_else(|p| p.into_inner()).clone();
    samples.sort_by_key(|(n, _)| *n);
    samples.push((batches, end_rss));
    // Flat after warm-up: the second half's peak stays within 10% (or 8 MiB) of the peak
    // between a quarter and half of the run (peaks, not single samples: the allocator's
    // level swings by a few MiB from one sample to the next).
    let peak = |from: usize, to: usize| {
        samples
            .iter()
            .filter(|(b, _)| (from..to).contains(b))
            .map(|(_, r)| *r)
            .fold(0.0, f64::max)
    };
    let warm = peak(batches / 4, batches / 2);
    let second_half_peak = peak(batches / 2, batches + 1);
    let flat = second_half_peak <= (warm * 1.10).max(warm + 8.0);

    let mut missing = Vec::new();
    for s in SERVICES {
        if !findable(&http, &api, s, true).await {
            missing.push(s);
        }
    }
    let services = get_json(&http, &format!("{api}/api/services")).await;
    let topology = get_json(&http, &format!("{api}/api/topology")).await;
    let other =
        services.to_string().contains("(other)") || topology.to_string().contains("(other)");
    // A service never seen before, after the flood of distinct values.
    let newcomer = batch(batches, "newcomer", now_ns);
    let resp = http
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .body(newcomer)
        .send()
        .await
        .expect("newcomer");
    assert_eq!(resp.status(), 200);
    // The map is rebuilt every second: give it a few (bounded).
    let mut newcomer_found = false;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        newcomer_found = findable(&http, &api, "newcomer", false).await;
        if newcomer_found {
            break;
        }
    }
    let store = get_json(&http, &format!("{api}/api/store")).await;

    let spans = batches * BATCH;
    println!("| compressed soak: {spans} high-cardinality spans | measured |");
    println!("|---|---|");
    println!(
        "| sent in | {secs:.0} s ({:.0} spans/s) |",
        spans as f64 / secs
    );
    println!(
        "| memory (RSS) | idle {idle:.0} MiB; peak from a quarter to half-way {warm:.0} MiB; second-half peak {second_half_peak:.0} MiB; end {end_rss:.0} MiB: {} |",
        if flat { "flat" } else { "GROWING" }
    );
    println!(
        "| held at the end | {} spans, {} bytes of spans |",
        store["spans"], store["span_bytes"]
    );
    println!(
        "| the ten services listed and searchable by name | {} |",
        if missing.is_empty() {
            "all ten".to_owned()
        } else {
            format!("MISSING {missing:?}")
        }
    );
    println!(
        "| anything named \"(other)\" | {} |",
        if other { "YES" } else { "no" }
    );
    println!(
        "| a new service after the flood listed and found | {} |",
        if newcomer_found { "yes" } else { "NO" }
    );
    drop(server);
    if flat && missing.is_empty() && !other && newcomer_found {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
