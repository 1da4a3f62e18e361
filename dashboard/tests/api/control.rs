//! The control plane over HTTP: token, CSRF and JSON-only refusals, validation and caps,
//! the flag file the services watch, TTL expiry, the audit log, traffic spikes through the load
//! generator (wiremock), drill listing, refusal and a failing run's report.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dashboard::Config;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestDashboard, spawn};

const TOKEN: &str = "s3cret-control-token";

struct Stack {
    dash: TestDashboard,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

fn manifest(dir: &Path) -> PathBuf {
    let drills = dir.join("drills");
    std::fs::create_dir_all(&drills).expect("drills dir");
    std::fs::write(
        drills.join("quick.toml"),
        r#"
title = "Quick payment outage"
summary = "Payment fails every charge."
narrative = "A drill for the API tests: the steady state cannot hold here (nothing is watched), so it must fail loudly."
max_duration_s = 30
[steady_state]
duration_s = 1
slis = [{ service = "payment", signal = "health", is = "up" }]
[[faults]]
at_s = 0
duration_s = 5
fault = { kind = "error-rate", service = "payment", percent = 50 }
[symptom]
service = "payment"
signal = "health"
is_not = "up"
within_s = 5
[recovery]
within_s = 5
[[abort]]
signal = "orders_per_min"
below = 0
"#,
    )
    .expect("drill");
    std::fs::write(drills.join("broken.toml"), "title = 1").expect("drill");
    let text = format!(
        r#"
[stack]
host = "127.0.0.1"
namespace = "apiary"
environment = "test"
[telemetry]
otlp_endpoint = "http://127.0.0.1:4317"
otlp_protocol = "grpc"
[faults]
flags = "{dir}/no-such-file.json"
drills = "{dir}/drills"
max_active = 3
max_percent = 50
max_ttl_s = 60
[[services]]
name = "checkout"
port = 18003
depends_on = ["payment", "cart"]
[[services]]
name = "payment"
port = 18005
store = "sqlite"
[[services]]
name = "cart"
port = 18002
store = "memory"
"#,
        dir = dir.display()
    );
    let path = dir.join("apiary.toml");
    std::fs::write(&path, text).expect("manifest");
    path
}

async fn stack(load: Option<&MockServer>) -> Stack {
    stack_in(tempfile::tempdir().expect("tempdir"), load).await
}

/// A stack over a data directory the test may have filled first.
async fn stack_in(dir: tempfile::TempDir, load: Option<&MockServer>) -> Stack {
    let mut config = Config::for_tests();
    config.manifest = Some(manifest(dir.path()));
    let data = dir.path().join("data");
    config.data_dir = Some(data.clone());
    config.control_token = Some(TOKEN.into());
    config.load_url = load.map(MockServer::uri);
    let dash = spawn(config, Vec::new()).await;
    // The control plane takes the flag file over as the server starts.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !data.join("flags/flags.flagd.json").is_file() {
        assert!(Instant::now() < deadline, "the control plane did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Stack {
        dash,
        data,
        _dir: dir,
    }
}

impl Stack {
    fn flags(&self) -> Value {
        serde_json::from_slice(
            &std::fs::read(self.data.join("flags/flags.flagd.json")).expect("flag file"),
        )
        .expect("flag json")
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .dash
            .http
            .request(method, format!("{}{path}", self.dash.api))
            .bearer_auth(TOKEN)
            .header("x-apiary-actor", "alice (test)");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn set(&self, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, "/api/faults", Some(body))
            .await
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn changes_need_the_token_a_json_body_and_the_same_site() {
    let s = stack(None).await;
    let url = format!("{}/api/faults", s.dash.api);
    let fault = json!({"kind": "error-rate", "service": "payment", "percent": 10, "ttl_s": 30});
    let http = &s.dash.http;
    let r = http.post(&url).json(&fault).send().await.expect("post");
    assert_eq!(r.status(), 401, "no token");
    let r = http
        .post(&url)
        .bearer_auth("wrong")
        .json(&fault)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 401, "wrong token");
    let r = http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("origin", "http://evil.example")
        .json(&fault)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    let r = http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body(fault.to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 415, "JSON bodies only");
    let r = http.get(format!("{url}/reset")).send().await.expect("get");
    assert_eq!(r.status(), 405, "no state change on GET");
    // Reads are open, like the rest of the API on loopback.
    let (status, body) = s.dash.get_json("/api/faults").await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], json!([]));
    // Nothing refused reached the flag file or the audit log as a change.
    assert_eq!(
        s.flags()["flags"]["payment.error-rate"]["defaultVariant"],
        "off"
    );
    let audit = std::fs::read_to_string(s.data.join("audit.jsonl")).expect("audit");
    assert!(!audit.contains("fault.set"), "{audit}");
}

#[tokio::test]
async fn faults_are_validated_capped_written_for_the_services_and_audited() {
    let s = stack(None).await;
    let base = s.flags();
    let cases = [
        (
            json!({"kind": "error-rate", "service": "payment", "percent": 10}),
            422,
            "ttl_required",
        ),
        (
            json!({"kind": "error-rate", "service": "payment", "percent": 10, "ttl_s": 600}),
            422,
            "invalid_ttl",
        ),
        (
            json!({"kind": "error-rate", "service": "payment", "percent": 80, "ttl_s": 30}),
            422,
            "invalid_fault",
        ),
        (
            json!({"kind": "meltdown", "service": "payment", "ttl_s": 30}),
            422,
            "invalid_fault",
        ),
        (
            json!({"kind": "slow-store", "service": "checkout", "ms": 100, "ttl_s": 30}),
            422,
            "invalid_fault",
        ),
        (json!([1, 2]), 422, "invalid_fault"),
    ];
    for (body, status, want) in cases {
        let (got, v) = s.set(body.clone()).await;
        assert_eq!((got, code(&v)), (status, want), "{body}: {v}");
    }

    let (status, f) = s
        .set(json!({"kind": "error-rate", "service": "payment", "percent": 25, "route": "POST /charges", "ttl_s": 30, "reason": "demo"}))
        .await;
    assert_eq!(status, 201, "{f}");
    assert_eq!(f["actor"], "alice (test)");
    let flags = s.flags();
    let rate = &flags["flags"]["payment.error-rate"];
    assert_eq!(rate["variants"]["25%"], json!(25.0));
    assert_eq!(rate["targeting"]["if"][0]["=="][1], "POST /charges");
    assert_eq!(flags["flags"]["payment.armed"]["defaultVariant"], "on");
    let set: apiary_faults::FlagSet = serde_json::from_value(flags).expect("flag set");
    assert!(
        apiary_faults::label_mismatches(&set).is_empty(),
        "labels say their values"
    );

    let (status, v) = s
        .set(json!({"kind": "error-rate", "service": "payment", "percent": 5, "ttl_s": 30}))
        .await;
    assert_eq!(
        (status, code(&v)),
        (409, "fault_conflict"),
        "one fault per flag: {v}"
    );
    let (status, _) = s.set(json!({"kind": "cart-store-lost", "ttl_s": 30})).await;
    assert_eq!(status, 201);
    let (status, _) = s
        .set(json!({"kind": "partition", "a": "payment", "b": "checkout", "ttl_s": 30}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        s.flags()["flags"]["checkout.to.payment"]["defaultVariant"],
        "partitioned"
    );
    let (status, v) = s
        .set(json!({"kind": "latency", "service": "cart", "ms": 100, "percent": 10, "ttl_s": 30}))
        .await;
    assert_eq!(
        (status, code(&v)),
        (409, "too_many_faults"),
        "cap of 3: {v}"
    );

    let id = f["id"].as_str().expect("id");
    let (status, _) = s
        .send(reqwest::Method::DELETE, &format!("/api/faults/{id}"), None)
        .await;
    assert_eq!(status, 200);
    let (status, v) = s
        .send(reqwest::Method::DELETE, &format!("/api/faults/{id}"), None)
        .await;
    assert_eq!((status, code(&v)), (404, "fault_not_found"));
    let (status, v) = s
        .send(reqwest::Method::POST, "/api/faults/reset", Some(json!({})))
        .await;
    assert_eq!((status, v["cleared"].as_u64()), (200, Some(2)));
    assert_eq!(s.flags(), base, "every flag back to its default");

    let (_, audit) = s.dash.get_json("/api/faults/audit?limit=50").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "control.start",
            "fault.set",
            "fault.set",
            "fault.set",
            "fault.clear",
            "faults.reset"
        ]
    );
    assert!(audit["entries"][1]["actor"] == "alice (test)");
}

#[tokio::test]
async fn a_fault_ends_when_its_ttl_passes_and_its_window_closes() {
    let s = stack(None).await;
    let (status, _) = s
        .set(json!({"kind": "latency", "service": "payment", "ms": 300, "percent": 50, "ttl_s": 1}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        s.flags()["flags"]["payment.latency-ms"]["defaultVariant"],
        "300ms"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, v) = s.dash.get_json("/api/faults").await;
        if v["active"] == json!([]) {
            break;
        }
        assert!(Instant::now() < deadline, "the fault outlived its TTL: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        s.flags()["flags"]["payment.latency-ms"]["defaultVariant"],
        "off"
    );
    let audit = std::fs::read_to_string(s.data.join("audit.jsonl")).expect("audit");
    assert!(audit.contains("\"fault.expire\""), "{audit}");
    let snap = s
        .dash
        .eventually("/api/snapshot", |v| {
            v["faults"]
                .as_array()
                .is_some_and(|w| w.iter().any(|w| w["kind"] == "fault" && w["end"].is_u64()))
        })
        .await;
    assert_eq!(snap["faults"][0]["service"], "payment");
}

#[tokio::test]
async fn a_traffic_spike_multiplies_the_load_generator_rate_and_restores_it() {
    let load = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/status"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"offered_rate": 5.0, "shape": "constant:5"})),
        )
        .mount(&load)
        .await;
    Mock::given(method("POST"))
        .and(path("/rate"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(json!({"rate": 40.0})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"state": "running"})))
        .expect(1)
        .mount(&load)
        .await;
    Mock::given(method("POST"))
        .and(path("/rate"))
        .and(body_json(json!({"shape": "constant:5"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"state": "running"})))
        .expect(1)
        .mount(&load)
        .await;
    let s = stack(Some(&load)).await;
    let (status, f) = s
        .set(json!({"kind": "traffic-spike", "factor": 8, "ttl_s": 30}))
        .await;
    assert_eq!(status, 201, "{f}");
    let (status, v) = s
        .set(json!({"kind": "traffic-spike", "factor": 2, "ttl_s": 30}))
        .await;
    assert_eq!((status, code(&v)), (409, "fault_conflict"));
    let id = f["id"].as_str().expect("id");
    let (status, _) = s
        .send(reqwest::Method::DELETE, &format!("/api/faults/{id}"), None)
        .await;
    assert_eq!(status, 200);
    // /api/load proxies the load generator (status open, changes with the token).
    let (status, v) = s.dash.get_json("/api/load").await;
    assert_eq!((status, v["offered_rate"].as_f64()), (200, Some(5.0)));
    let (status, _) = s
        .send(reqwest::Method::POST, "/api/load/explode", Some(json!({})))
        .await;
    assert_eq!(status, 404);
    load.verify().await;
}

#[tokio::test]
async fn a_spike_without_a_load_generator_is_refused() {
    let s = stack(None).await;
    let (status, v) = s
        .set(json!({"kind": "traffic-spike", "factor": 4, "ttl_s": 30}))
        .await;
    assert_eq!((status, code(&v)), (409, "no_load_generator"));
}

#[tokio::test]
async fn drills_are_listed_refused_when_broken_and_a_failing_run_says_why() {
    let s = stack(None).await;
    let (_, list) = s.dash.get_json("/api/drills").await;
    let drills = list["drills"].as_array().expect("drills");
    let broken = drills
        .iter()
        .find(|d| d["name"] == "broken")
        .expect("listed");
    assert!(!broken["problems"].as_array().expect("problems").is_empty());
    let (status, v) = s
        .send(
            reqwest::Method::POST,
            "/api/drills/broken/run",
            Some(json!({})),
        )
        .await;
    assert_eq!((status, code(&v)), (422, "drill_invalid"));
    let (status, _) = s
        .send(
            reqwest::Method::POST,
            "/api/drills/nope/run",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, v) = s
        .send(
            reqwest::Method::POST,
            "/api/drills/quick/run",
            Some(json!({"time_scale": 5})),
        )
        .await;
    assert_eq!((status, code(&v)), (422, "invalid_time_scale"));

    // Nothing is watched here, so payment's health is unknown: the steady state cannot hold and
    // the run must fail, saying so, without ever turning the fault on.
    let (status, v) = s
        .send(
            reqwest::Method::POST,
            "/api/drills/quick/run",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 202, "{v}");
    let id = v["id"].as_str().expect("run id").to_owned();
    let (status, v) = s
        .send(
            reqwest::Method::POST,
            "/api/drills/quick/run",
            Some(json!({})),
        )
        .await;
    assert_eq!((status, code(&v)), (409, "drill_running"));
    let report = s
        .dash
        .eventually(&format!("/api/drills/runs/{id}"), |r| {
            r["verdict"] != "running"
        })
        .await;
    assert_eq!(report["verdict"], "failed");
    let reasons = report["reasons"].to_string();
    assert!(reasons.contains("steady state not met"), "{reasons}");
    assert_eq!(
        report["faults"][0]["fault_id"],
        Value::Null,
        "the fault never went on"
    );
    assert!(s.data.join(format!("drill-reports/{id}.json")).is_file());
    let (_, runs) = s.dash.get_json("/api/drills/runs").await;
    assert_eq!(runs["runs"][0]["id"], json!(id));
}

/// Issue 13: a dashboard that stopped mid-run left the run "running" for ever. The report is on
/// disk from the run's start, and the next dashboard marks what it finds running as aborted.
#[tokio::test]
async fn a_run_left_running_by_a_previous_dashboard_is_aborted_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reports = dir.path().join("data/drill-reports");
    std::fs::create_dir_all(&reports).expect("mkdir");
    let orphan = json!({
        "id": "quick-1700000000000", "drill": "quick", "title": "Quick", "verdict": "running",
        "reasons": [], "time_scale": 1.0, "started_at": 1_700_000_000_000u64, "ended_at": null,
        "symptom": "", "time_to_detect_ms": null, "time_to_recover_ms": null, "faults": [],
        "slis": {"before": {}, "during": {}, "after": {}}, "timeline": [], "narrative": "",
        "game_day_seed": null
    });
    std::fs::write(
        reports.join("quick-1700000000000.json"),
        serde_json::to_vec(&orphan).expect("json"),
    )
    .expect("write");
    let s = stack_in(dir, None).await;
    let (status, report) = s
        .dash
        .get_json("/api/drills/runs/quick-1700000000000")
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["verdict"], "aborted", "{report}");
    assert!(report["ended_at"].is_u64(), "{report}");
    // Nothing is running, so a new run may start.
    let (status, v) = s
        .send(
            reqwest::Method::POST,
            "/api/drills/quick/run",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 202, "{v}");
    let id = v["id"].as_str().expect("id").to_owned();
    assert!(
        s.data.join(format!("drill-reports/{id}.json")).is_file(),
        "a run is on disk from its start"
    );
    let (status, v) = s
        .send(
            reqwest::Method::POST,
            "/api/drills/runs/quick-1700000000000/stop",
            Some(json!({})),
        )
        .await;
    assert_eq!((status, code(&v)), (409, "run_finished"));
    let (status, _) = s.dash.get_json("/api/drills/runs/..%2F..%2Fapiary").await;
    assert_eq!(status, 404, "ids cannot name files elsewhere");
    let (status, _) = s.dash.get_json("/api/drills/runs?limit=0").await;
    assert_eq!(status, 400);
    let (_, runs) = s.dash.get_json("/api/drills/runs?limit=1").await;
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1), "{runs}");
}

/// Issue 13: game-day numbers were only checked to be positive and ordered; a schedule of
/// millisecond intervals or year-long faults was accepted.
#[tokio::test]
async fn game_day_parameters_out_of_range_are_422() {
    let s = stack(None).await;
    let spec = json!({"kind": "latency", "service": "payment", "ms": 800});
    for (interval, duration, total) in [
        (json!([0.001, 0.002]), json!([5, 15]), json!(60)),
        (json!([10, 30]), json!([5, 100000000]), json!(60)),
        (json!([10, 30]), json!([5, 15]), json!(100000)),
    ] {
        let (status, v) = s
            .send(
                reqwest::Method::POST,
                "/api/drills/gameday",
                Some(json!({
                    "seed": 1, "duration_s": total, "interval_s": interval,
                    "fault_duration_s": duration, "allowed": [spec],
                })),
            )
            .await;
        assert_eq!((status, code(&v)), (422, "invalid_game_day"), "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
    }
}

/// flagd's sync protocol on the gRPC port: a client (the generated flagd sync client, what a
/// flagd daemon or an in-process provider speaks) gets the whole configuration at once and again
/// after each change, the same as the flag file.
#[tokio::test]
async fn the_flags_are_served_over_flagds_sync_protocol_and_every_change_is_pushed() {
    use open_feature_flagd::flagd::sync::v1::flag_sync_service_client::FlagSyncServiceClient;
    use open_feature_flagd::flagd::sync::v1::{FetchAllFlagsRequest, SyncFlagsRequest};

    let s = stack(None).await;
    let mut client = FlagSyncServiceClient::connect(s.dash.otlp_grpc.clone())
        .await
        .expect("connect");
    let all = client
        .fetch_all_flags(FetchAllFlagsRequest::default())
        .await
        .expect("fetch")
        .into_inner();
    let now: Value = serde_json::from_str(&all.flag_configuration).expect("flagd json");
    assert_eq!(now, s.flags(), "what the file says");

    let mut stream = client
        .sync_flags(SyncFlagsRequest {
            provider_id: "test".into(),
            selector: String::new(),
        })
        .await
        .expect("sync")
        .into_inner();
    let first = stream.message().await.expect("first").expect("a message");
    assert_eq!(
        serde_json::from_str::<Value>(&first.flag_configuration).expect("json"),
        s.flags()
    );
    let set = s
        .dash
        .http
        .post(format!("{}/api/faults", s.dash.api))
        .bearer_auth(TOKEN)
        .json(&json!({"kind": "error-rate", "service": "payment", "percent": 40, "ttl_s": 30}))
        .send()
        .await
        .expect("set");
    assert_eq!(set.status(), 201);
    let pushed = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("pushed within 5 s")
        .expect("stream")
        .expect("a message");
    let pushed: Value = serde_json::from_str(&pushed.flag_configuration).expect("json");
    assert_eq!(pushed, s.flags(), "the change, as written to the file");
    assert_ne!(pushed, now, "the fault changed the flags");
}
