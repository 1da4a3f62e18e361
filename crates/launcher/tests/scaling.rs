//! Replicas on one machine, end to end with the real binaries: `apiary up --scale catalog=2`
//! runs two catalog processes that share the product pages; the dashboard shows catalog as one
//! service with its instances; `POST /api/scale` and `apiary scale` add and remove instances of
//! the running stack; a frozen instance makes catalog degraded (not down) while product pages
//! keep answering from the others; a stateful service is refused with the reason.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

mod common;
use common::{DashboardPorts, Launcher, StackManifest, apiary, bin_dir, temp_dir, try_json_of};

/// Product-page requests each catalog instance answered so far (from its own `/metrics`).
async fn product_requests(http: &reqwest::Client, url: &str) -> f64 {
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .expect("metrics answered")
        .text()
        .await
        .unwrap_or_default();
    text.lines()
        .filter(|l| {
            l.starts_with("http_server_request_duration_seconds_count{")
                && l.contains("http_route=\"/products/{id}\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn endpoints(stack: &StackManifest, service: &str) -> Vec<String> {
    let text = std::fs::read_to_string(stack.data_dir.join(format!("endpoints/{service}.json")))
        .expect("the endpoints file");
    let v: Value = serde_json::from_str(&text).expect("json");
    v["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .map(|i| i["url"].as_str().expect("url").to_owned())
        .collect()
}

/// Waits (bounded) until the dashboard's catalog entry satisfies `ok`; returns it.
async fn until_catalog(
    http: &reqwest::Client,
    dashboard: &str,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let services = try_json_of(http, format!("{dashboard}/api/services"))
            .await
            .unwrap_or(Value::Null);
        if let Some(catalog) = services
            .as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == "catalog"))
            && ok(catalog)
        {
            return catalog.clone();
        }
        assert!(
            Instant::now() < deadline,
            "catalog never {what}: {services}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_scales_out_and_in_while_the_shop_serves_and_the_dashboard_counts_instances() {
    let dir = temp_dir("scaling");
    let stack = StackManifest::write(&dir, Some(DashboardPorts::free()));
    let ui = stack.dashboard.as_ref().expect("dashboard").ui;
    let dashboard = format!("http://127.0.0.1:{ui}");
    let mut launcher = Launcher::start(&[
        "up",
        "--manifest",
        &stack.path.display().to_string(),
        "--bin-dir",
        &bin_dir().display().to_string(),
        "--scale",
        "catalog=2",
    ]);
    launcher.wait_for("every service is ready", Duration::from_secs(90));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let token = std::fs::read_to_string(stack.data_dir.join("control.token")).expect("token");
    let token = token.trim();

    // Two instances, listed for the callers, both serving product pages.
    let urls = endpoints(&stack, "catalog");
    let second = format!("http://127.0.0.1:{}", stack.port("catalog") + 100);
    assert_eq!(urls, vec![stack.url("catalog"), second.clone()]);
    let page = format!("{}/api/products/BK-0001", stack.url("gateway"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for _ in 0..20 {
            let resp = http.get(&page).send().await.expect("product page");
            assert_eq!(resp.status(), 200);
        }
        let (a, b) = (
            product_requests(&http, &urls[0]).await,
            product_requests(&http, &urls[1]).await,
        );
        if a >= 5.0 && b >= 5.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "both instances should serve: {a} and {b}\n{}",
            launcher.output()
        );
    }
    let catalog = until_catalog(&http, &dashboard, "showed two instances up", |c| {
        c["instances"]
            .as_array()
            .is_some_and(|i| i.len() == 2 && i.iter().all(|i| i["health"] == "up"))
            && c["health"] == "up"
    })
    .await;
    let ids: Vec<&str> = catalog["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(ids, ["catalog-1", "catalog-2"]);

    // Refused: no token, a stateful service, an unknown one.
    let scale = format!("{dashboard}/api/scale");
    let anonymous = http
        .post(&scale)
        .json(&json!({"service": "catalog", "replicas": 3}))
        .send()
        .await
        .expect("answered");
    assert_eq!(anonymous.status(), 401);
    for (body, status, says) in [
        (
            json!({"service": "orders", "replicas": 2}),
            422,
            "runs one instance",
        ),
        (
            json!({"service": "nope", "replicas": 2}),
            404,
            "valid services",
        ),
        (
            json!({"service": "catalog", "replicas": 9}),
            422,
            "between 1 and 8",
        ),
        (json!({"service": "catalog"}), 422, "replicas"),
    ] {
        let resp = http
            .post(&scale)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("answered");
        assert_eq!(resp.status(), status, "{body}");
        let text = resp.text().await.unwrap_or_default();
        assert!(text.contains(says), "{body}: {text}");
    }

    // Live: a third instance joins without a restart of anything else.
    let gateway_pid = launcher.pids_of("gateway");
    let scaled: Value = http
        .post(&scale)
        .bearer_auth(token)
        .json(&json!({"service": "catalog", "replicas": 3, "reason": "test"}))
        .send()
        .await
        .expect("scale")
        .json()
        .await
        .expect("json");
    assert_eq!(scaled["replicas"], 3, "{scaled}");
    assert_eq!(endpoints(&stack, "catalog").len(), 3);
    let catalog = until_catalog(&http, &dashboard, "showed three instances", |c| {
        c["instances"].as_array().is_some_and(|i| i.len() == 3)
    })
    .await;
    assert_eq!(
        launcher.pids_of("gateway"),
        gateway_pid,
        "gateway kept running"
    );
    assert!(catalog["instances"].as_array().is_some());

    // One instance frozen: catalog is degraded, not down, and pages keep answering.
    let third_pid = scaled["instances"][2]["pid"].as_i64().expect("pid") as i32;
    kill(Pid::from_raw(third_pid), Signal::SIGSTOP).expect("freeze catalog-3");
    let degraded = until_catalog(&http, &dashboard, "degraded by a frozen instance", |c| {
        c["health"] == "degraded"
            && c["reason"]
                .as_str()
                .is_some_and(|r| r.contains("1 of 3 instances down") && r.contains("catalog-3"))
    })
    .await;
    assert_ne!(degraded["health"], "down");
    for _ in 0..30 {
        let resp = http.get(&page).send().await.expect("product page");
        assert_eq!(resp.status(), 200, "served by the other instances");
    }
    kill(Pid::from_raw(third_pid), Signal::SIGCONT).expect("thaw");
    until_catalog(&http, &dashboard, "up again", |c| c["health"] == "up").await;

    // The CLI lists and scales in.
    let (ok, out) = apiary(&stack.path, &["scale"]);
    assert!(ok, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("catalog") && l.contains(" 3 ")),
        "{out}"
    );
    let (ok, out) = apiary(&stack.path, &["scale", "catalog=1"]);
    assert!(ok, "{out}");
    assert_eq!(endpoints(&stack, "catalog"), vec![stack.url("catalog")]);
    until_catalog(&http, &dashboard, "back to one instance", |c| {
        c["instances"].as_array().is_some_and(|i| i.len() == 1)
    })
    .await;
    launcher.wait_for("catalog-3 left catalog", Duration::from_secs(20));
    assert!(
        launcher.output().contains("catalog-2 left catalog"),
        "{}",
        launcher.output()
    );
    let (ok, out) = apiary(&stack.path, &["scale", "orders=2"]);
    assert!(!ok && out.contains("runs one instance"), "{out}");

    kill(Pid::from_raw(launcher.child.id() as i32), Signal::SIGTERM).expect("sigterm");
    let status = launcher.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}\n{}", launcher.output());
    let _ = std::fs::remove_dir_all(dir);
}
