//! Health transitions driven by real scraped data: the watched service is a real axum app
//! with the standard router; the test changes what it answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use apiary_chassis::{Readiness, ServeLimits, standard_router};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use dashboard::Config;
use dashboard::monitor::Target;

use crate::helpers::spawn;

#[derive(Clone, Default)]
struct Knobs {
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    ready: Arc<AtomicU16>,
}

async fn work(State(k): State<Knobs>) -> StatusCode {
    tokio::time::sleep(Duration::from_millis(k.delay_ms.load(Ordering::Relaxed))).await;
    StatusCode::from_u16(k.status.load(Ordering::Relaxed)).unwrap_or(StatusCode::OK)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_goes_up_degraded_down_and_up_again() {
    let knobs = Knobs::default();
    knobs.status.store(200, Ordering::Relaxed);
    knobs.ready.store(1, Ordering::Relaxed);
    let ready = knobs.ready.clone();
    let readiness = Readiness::new().check("store", move || {
        let ok = ready.load(Ordering::Relaxed) == 1;
        async move {
            if ok {
                Ok(())
            } else {
                Err("store unavailable".to_owned())
            }
        }
    });
    let app = standard_router(
        Router::new()
            .route("/work", get(work))
            .with_state(knobs.clone()),
        readiness,
        ServeLimits::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let mut config = Config::for_tests();
    config.scrape_interval = Duration::from_millis(200);
    config.thresholds.latency_objective_ms = 150.0;
    let d = spawn(
        config,
        vec![Target {
            name: "shop".into(),
            base_url: url.clone(),
            slo: Default::default(),
        }],
    )
    .await;

    // Bounded background traffic so the scraper sees rates (stops with the test).
    let traffic_url = url.clone();
    let traffic = tokio::spawn(async move {
        let c = reqwest::Client::new();
        for _ in 0..3000 {
            let _ = c.get(format!("{traffic_url}/work")).send().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });

    let health = |name: &'static str| move |v: &serde_json::Value| v[0]["health"] == name;
    let up = d
        .eventually("/api/services", |v| {
            v[0]["health"] == "up" && v[0]["rps"].as_f64().unwrap_or(0.0) > 0.0
        })
        .await;
    assert_eq!(up[0]["source"], "metrics");

    knobs.status.store(500, Ordering::Relaxed);
    let degraded = d.eventually("/api/services", health("degraded")).await;
    assert!(
        degraded[0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("error rate"),
        "{degraded}"
    );
    // Every request failing burns the availability budget 200x (99.5 %): the drill tier fires.
    let burning = d
        .eventually("/api/services", |v| {
            v[0]["slos"][0]["alert"]["tier"] == "drill"
        })
        .await;
    let availability = &burning[0]["slos"][0];
    assert_eq!(availability["slo"], "availability", "{burning}");
    assert!(
        availability["burn_30s"].as_f64().unwrap_or(0.0) > 14.4,
        "{burning}"
    );
    assert!(
        availability["bad_total"].as_f64().unwrap_or(0.0) > 0.0,
        "{burning}"
    );
    // The probable cause names the failing service, with its evidence, in both places.
    let diagnosis = d
        .eventually("/api/cause", |v| v["causes"][0]["service"] == "shop")
        .await;
    assert_eq!(diagnosis["causes"][0]["kind"], "service", "{diagnosis}");
    assert!(
        diagnosis["symptoms"][0]
            .as_str()
            .is_some_and(|s| s.starts_with("shop degraded")),
        "{diagnosis}"
    );
    let (status, own) = d.get_json("/api/services/shop/cause").await;
    assert_eq!(status, 200);
    assert_eq!(own["causes"][0]["service"], "shop", "{own}");
    let (status, unknown) = d.get_json("/api/services/nope/cause").await;
    assert_eq!(status, 404, "{unknown}");
    assert_eq!(unknown["error"]["code"], "not_found");

    knobs.status.store(200, Ordering::Relaxed);
    d.eventually("/api/services", health("up")).await;

    knobs.delay_ms.store(300, Ordering::Relaxed);
    let slow = d.eventually("/api/services", health("degraded")).await;
    assert!(
        slow[0]["reason"].as_str().unwrap_or("").contains("p95"),
        "{slow}"
    );
    // 300 ms answers miss the 250 ms latency objective.
    d.eventually("/api/services", |v| {
        v[0]["slos"][1]["slo"] == "latency"
            && v[0]["slos"][1]["burn_30s"].as_f64().unwrap_or(0.0) > 1.0
    })
    .await;
    knobs.delay_ms.store(0, Ordering::Relaxed);

    knobs.ready.store(0, Ordering::Relaxed);
    let down = d.eventually("/api/services", health("down")).await;
    assert!(
        down[0]["reason"].as_str().unwrap_or("").contains("store"),
        "{down}"
    );

    knobs.ready.store(1, Ordering::Relaxed);
    d.eventually("/api/services", health("up")).await;

    let (_, detail) = d.get_json("/api/services/shop").await;
    assert!(
        detail["series"].as_array().is_some_and(|s| s.len() > 3),
        "{detail}"
    );
    // The test process shares one recorder with the dashboard itself, so other routes show too.
    assert!(
        detail["routes"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["route"] == "GET /work")),
        "{detail}"
    );
    traffic.abort();
}

#[tokio::test]
async fn a_service_without_metrics_gets_red_from_its_server_spans() {
    use prost::Message;

    use crate::helpers::{TestSpan, now_nanos, spans_request};

    // Ready, but no /metrics: a plain app without the standard router.
    let app = Router::new().route("/health/ready", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut config = Config::for_tests();
    config.scrape_interval = Duration::from_millis(200);
    let d = spawn(
        config,
        vec![Target {
            name: "legacy".into(),
            base_url: url,
            slo: Default::default(),
        }],
    )
    .await;

    // 30 server spans that ended just now, 3 of them errors.
    let spans: Vec<TestSpan> = (1..=30u8)
        .map(|i| TestSpan {
            trace: i,
            id: i,
            parent: None,
            name: "GET /old",
            kind: 2,
            start_ms: 4_000,
            duration_ms: 20,
            error: i % 10 == 0,
        })
        .collect();
    let mut req = spans_request("legacy", &spans);
    // helpers place spans 5 s in the past; move them to now so they fall in the window.
    let shift = now_nanos()
        .saturating_sub(req.resource_spans[0].scope_spans[0].spans[0].end_time_unix_nano);
    for s in &mut req.resource_spans[0].scope_spans[0].spans {
        s.start_time_unix_nano += shift;
        s.end_time_unix_nano += shift;
    }
    assert_eq!(
        d.post_otlp("/v1/traces", "application/x-protobuf", req.encode_to_vec())
            .await
            .status(),
        200
    );
    let services = d
        .eventually("/api/services", |v| {
            v[0]["source"] == "spans" && v[0]["rps"].as_f64().unwrap_or(0.0) > 0.0
        })
        .await;
    assert_eq!(services[0]["error_rate"], 0.1, "{services}");
    assert_eq!(services[0]["latency_ms"]["p50"], 20.0, "{services}");
}

/// A process that restarts between two scrapes is up at every probe; its exported start time
/// is what gives it away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_too_quick_for_the_probe_still_shows() {
    let started = Arc::new(AtomicU64::new(1_795_800_000));
    let metrics = {
        let started = started.clone();
        move || {
            let s = started.load(Ordering::Relaxed);
            async move {
                format!("# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {s}\n")
            }
        }
    };
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/health/ready", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut config = Config::for_tests();
    config.scrape_interval = Duration::from_millis(200);
    config.thresholds.restart_hold_s = 2.0;
    let d = spawn(
        config,
        vec![Target {
            name: "flaky".into(),
            base_url: url,
            slo: Default::default(),
        }],
    )
    .await;
    let health = |name: &'static str| move |v: &serde_json::Value| v[0]["health"] == name;
    let up = d.eventually("/api/services", health("up")).await;
    assert_eq!(up[0]["restarts"], 0, "{up}");

    started.fetch_add(61, Ordering::Relaxed);
    let restarted = d.eventually("/api/services", health("degraded")).await;
    assert_eq!(restarted[0]["restarts"], 1, "{restarted}");
    assert!(
        restarted[0]["reason"]
            .as_str()
            .unwrap_or("")
            .starts_with("restarted"),
        "{restarted}"
    );
    // Up again once the hold has passed; the count stays.
    let after = d.eventually("/api/services", health("up")).await;
    assert_eq!(after[0]["restarts"], 1, "{after}");
}
