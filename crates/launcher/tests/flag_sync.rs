//! The dashboard as the flags' source of truth over flagd's sync protocol, end to end with the
//! real binaries: with `[faults] source = "dashboard"` every service's in-process flagd
//! provider syncs from the dashboard's gRPC port (the path flagd takes in compose and
//! Kubernetes) instead of watching the file, and a fault set on the control plane takes effect
//! in the service — and ends when it is cleared. Prints the time each took.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

mod common;
use common::{DashboardPorts, Launcher, StackManifest, bin_dir, temp_dir};

/// Polls `url` until its status is `want` (bounded); how long that took.
async fn until_status(http: &reqwest::Client, url: &str, want: u16) -> Duration {
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(url).send().await
            && r.status().as_u16() == want
        {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{url} never answered {want}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_reach_the_services_through_the_dashboards_flag_sync() {
    let dir = temp_dir("flag-sync");
    let stack = StackManifest::write(&dir, Some(DashboardPorts::free()));
    let text = std::fs::read_to_string(&stack.path).expect("manifest");
    let at = text.find("[[services]]").expect("services");
    let mut text = text;
    text.insert_str(at, "[faults]\nsource = \"dashboard\"\n\n");
    std::fs::write(&stack.path, text).expect("manifest");
    let ui = stack.dashboard.as_ref().expect("dashboard").ui;
    let mut launcher = Launcher::start(&[
        "up",
        "--manifest",
        &stack.path.display().to_string(),
        "--bin-dir",
        &bin_dir().display().to_string(),
    ]);
    launcher.wait_for("every service is ready", Duration::from_secs(90));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let token = std::fs::read_to_string(stack.data_dir.join("control.token")).expect("token");
    let products = format!("{}/products?limit=1", stack.url("catalog"));
    until_status(&http, &products, 200).await;

    let set: Value = http
        .post(format!("http://127.0.0.1:{ui}/api/faults"))
        .bearer_auth(token.trim())
        .json(&json!({"kind": "error-rate", "service": "catalog", "percent": 100, "ttl_s": 60}))
        .send()
        .await
        .expect("set")
        .json()
        .await
        .expect("json");
    let id = set["id"].as_str().expect("fault id").to_owned();
    let on = until_status(&http, &products, 500).await;
    let cleared = http
        .delete(format!("http://127.0.0.1:{ui}/api/faults/{id}"))
        .bearer_auth(token.trim())
        .send()
        .await
        .expect("clear");
    assert!(cleared.status().is_success());
    let off = until_status(&http, &products, 200).await;
    println!(
        "flag sync from the dashboard: fault on in the service after {} ms, off after {} ms",
        on.as_millis(),
        off.as_millis()
    );
    // The service read no flag file: its provider synced from the dashboard.
    let pid = *launcher.pids_of("catalog").last().expect("catalog pid");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
    let environ = String::from_utf8_lossy(&environ);
    let vars: Vec<&str> = environ.split('\0').collect();
    assert!(vars.contains(&"FLAGD_RESOLVER=in-process"), "{vars:?}");
    assert!(
        vars.contains(
            &format!("FLAGD_PORT={}", stack.dashboard.as_ref().expect("d").grpc).as_str()
        ),
        "{vars:?}"
    );
    assert!(
        !vars
            .iter()
            .any(|v| v.starts_with("FLAGD_OFFLINE_FLAG_SOURCE_PATH=")),
        "{vars:?}"
    );

    kill(Pid::from_raw(launcher.child.id() as i32), Signal::SIGTERM).expect("sigterm");
    let status = launcher.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}\n{}", launcher.output());
    let _ = std::fs::remove_dir_all(dir);
}
