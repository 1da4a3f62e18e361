use std::time::Duration;

use apiary_load::bench_server::Stall;

use crate::helpers::{bench, config, controlled, get_profile, timing_lock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_change_takes_effect_without_a_restart() {
    let _serial = timing_lock().await;
    let addr = bench(Stall::default()).await;
    let cfg = config(
        &format!("http://{addr}"),
        get_profile("/"),
        20.0,
        Duration::from_secs(30),
    )
    .await;
    let c = controlled(cfg).await;

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let resp = c.post("/rate", serde_json::json!({"rate": 200})).await;
    assert_eq!(resp.status(), 200);
    let status: serde_json::Value = resp.json().await.expect("JSON");
    assert_eq!(status["shape"], "constant:200");

    // Over the next 2 s: 200/s, not 20/s.
    let before = c.started();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = (c.started() - before) as f64;
    assert!(
        (during - 400.0).abs() <= 400.0 * 0.1,
        "{during} journeys started in 2 s after the change to 200/s"
    );

    // A ramp, given as a shape, also applies at once.
    let resp = c
        .post("/rate", serde_json::json!({"shape": "ramp:50:60:10s"}))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(c.status().await["shape"], "ramp:50:60:10s");

    let resp = c.post("/stop", serde_json::json!({})).await;
    assert_eq!(resp.status(), 200);
    let results = tokio::time::timeout(Duration::from_secs(10), c.run.wait())
        .await
        .expect("the run stops")
        .expect("and reports");
    assert_eq!(results.errors, 0);
    assert!(
        results.elapsed_s < 20.0,
        "stopped early, not at the 30 s duration"
    );
}

#[tokio::test]
async fn the_control_api_refuses_what_it_must() {
    let addr = bench(Stall::default()).await;
    let cfg = config(
        &format!("http://{addr}"),
        get_profile("/"),
        5.0,
        Duration::from_secs(30),
    )
    .await;
    let c = controlled(cfg).await;
    let url = |p: &str| format!("{}{p}", c.base);

    // No token, a wrong token: 401 with the JSON error body, and nothing changes.
    let r = c
        .http
        .post(url("/rate"))
        .json(&serde_json::json!({"rate": 50}))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers().get("www-authenticate").map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    let body: serde_json::Value = r.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], "unauthorized");
    let r = c
        .http
        .post(url("/stop"))
        .bearer_auth("not-the-token")
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 401);

    // Not JSON: 415.
    let r = c
        .http
        .post(url("/rate"))
        .bearer_auth(c.token.expose())
        .header("content-type", "text/plain")
        .body("rate=50")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 415);
    // JSON of the wrong shape: 422.
    let r = c
        .post("/rate", serde_json::json!({"rate": 5, "shape": "10"}))
        .await;
    assert_eq!(r.status(), 422);
    let r = c.post("/rate", serde_json::json!({"rate": -3})).await;
    assert_eq!(r.status(), 422);

    // GET never changes state.
    for p in ["/rate", "/pause", "/stop", "/profile"] {
        let r = c
            .http
            .get(url(p))
            .bearer_auth(c.token.expose())
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), 405, "GET {p}");
    }
    let status = c.status().await;
    assert_eq!(status["shape"], "constant:5");
    assert_ne!(status["state"], "stopping");

    // A bad profile is refused with its line; a good one is taken.
    let r = c
        .post("/profile", serde_json::json!({"toml": "[[journey]]\nname = \"x\"\nweight = 1\nsteps = [{ action = \"fly\" }]\n"}))
        .await;
    assert_eq!(r.status(), 422);
    let body: serde_json::Value = r.json().await.expect("JSON error");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(":4:")),
        "{body}"
    );
    let r = c
        .post("/profile", serde_json::json!({"toml": "[[journey]]\nname = \"health\"\nweight = 1\nsteps = [{ action = \"get\", path = \"/health\" }]\n"}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(c.status().await["journeys"], serde_json::json!(["health"]));

    // Pause: no new journeys; resume: they come back.
    let r = c.post("/pause", serde_json::json!({})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(c.status().await["state"], "paused");
    let before = c.started();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(c.started() <= before + 1, "journeys started while paused");
    let r = c.post("/resume", serde_json::json!({})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(c.status().await["state"], "running");

    // /metrics is the Prometheus text with the generator's own series.
    let metrics = c
        .http
        .get(url("/metrics"))
        .send()
        .await
        .expect("answer")
        .text()
        .await
        .expect("text");
    for name in [
        "apiary_load_request_duration_seconds_bucket",
        "apiary_load_requests_total",
        "apiary_load_journeys_started_total",
    ] {
        assert!(metrics.contains(name), "/metrics lacks {name}");
    }

    let r = c.post("/stop", serde_json::json!({})).await;
    assert_eq!(r.status(), 200);
    tokio::time::timeout(Duration::from_secs(10), c.run.wait())
        .await
        .expect("the run stops")
        .expect("and reports");
}
