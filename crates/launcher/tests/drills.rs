//! Fault drills end to end: the whole stack (release binaries, as `apiary up` runs them) with
//! background load, every shipped drill run through `apiary drill run` in compressed time, each
//! required to pass (symptom seen on the dashboard, recovery seen); a drill whose flag is
//! disabled must fail its symptom check; the control plane refuses what it must.
//!
//! Ignored in the main test run (it needs `cargo build --release --workspace --bins` and takes
//! several minutes); `scripts/test.sh` builds the release binaries and runs it with `--ignored`.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{
    DashboardPorts, Launcher, StackManifest, all_up, apiary, json_of, release_dir, temp_dir,
};
use serde_json::{Value, json};

/// Steady states and fault schedules run at this fraction of their written length.
const TIME_SCALE: &str = "0.3";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shipped drills plus one whose fault flag is DISABLED in the flag file.
fn drills_and_flags(dir: &Path) -> (PathBuf, PathBuf, Vec<String>) {
    let drills = dir.join("drills");
    std::fs::create_dir_all(&drills).expect("drills dir");
    let mut shipped = Vec::new();
    for e in std::fs::read_dir(repo().join("drills")).expect("drills") {
        let path = e.expect("entry").path();
        if path.extension().and_then(|x| x.to_str()) == Some("toml") {
            std::fs::copy(&path, drills.join(path.file_name().expect("name"))).expect("copy");
            shipped.push(
                path.file_stem()
                    .and_then(|s| s.to_str())
                    .expect("stem")
                    .to_owned(),
            );
        }
    }
    shipped.sort();
    let mut flags: Value = serde_json::from_slice(
        &std::fs::read(repo().join("drills/flags.flagd.json")).expect("flags"),
    )
    .expect("flags json");
    // No shipped drill uses payment's hang flag: switch it off at the source.
    flags["flags"]["payment.hang-percent"]["state"] = json!("DISABLED");
    let flags_path = dir.join("flags.flagd.json");
    std::fs::write(
        &flags_path,
        serde_json::to_vec_pretty(&flags).expect("json"),
    )
    .expect("write");
    std::fs::write(
        drills.join("disabled-fault.toml"),
        r#"
title = "A fault whose flag is disabled"
summary = "Payment should hang; its flag is DISABLED, so nothing happens."
narrative = """
This drill exists to prove that a drill fails loudly when its fault does not take effect: the
flag it sets is disabled in the flag file, so payment never hangs and the symptom never shows.
"""
max_duration_s = 60

[steady_state]
duration_s = 10
slis = [{ service = "payment", signal = "health", is = "up" }]

[[faults]]
at_s = 0
duration_s = 30
fault = { kind = "hang", service = "payment", percent = 100 }

[symptom]
service = "payment"
signal = "health"
is_not = "up"
within_s = 8

[recovery]
within_s = 20

[[abort]]
signal = "orders_failed_per_min"
above = 3000
"#,
    )
    .expect("write drill");
    (flags_path, drills, shipped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs release binaries and several minutes; scripts/test.sh runs it"]
async fn every_shipped_drill_passes_against_the_running_stack() {
    let bins = release_dir();
    let dir = temp_dir("drills");
    let (flags, drills, shipped) = drills_and_flags(&dir);
    let dash = DashboardPorts::free();
    let stack = StackManifest::write_full(&dir, Some(dash), Some(5.0), Some((&flags, &drills)))
        .with_broker();
    let manifest = stack.path.display().to_string();
    let launcher = Launcher::start(&[
        "up",
        "--manifest",
        &manifest,
        "--bin-dir",
        &bins.display().to_string(),
    ]);
    launcher.wait_for("every service is ready", Duration::from_secs(60));
    // The messaging drills need the broker (it boots in the background).
    launcher.wait_for("the broker accepts AMQP", Duration::from_secs(120));
    let base = format!("http://127.0.0.1:{}", dash.ui);
    let http = reqwest::Client::new();
    all_up(&http, &base, Duration::from_secs(60)).await;

    // The control plane refuses what it must.
    let token = std::fs::read_to_string(stack.data_dir.join("control.token")).expect("token file");
    let fault = json!({"kind": "error-rate", "service": "payment", "percent": 50, "ttl_s": 30});
    let post = |body: &Value| http.post(format!("{base}/api/faults")).json(body);
    let r = post(&fault).send().await.expect("post");
    assert_eq!(r.status(), 401, "no token");
    let no_ttl = json!({"kind": "error-rate", "service": "payment", "percent": 50});
    let r = post(&no_ttl)
        .bearer_auth(&token)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 422);
    assert_eq!(apiary_testkit::error_code(r).await, "ttl_required");
    let r = post(&fault)
        .bearer_auth(&token)
        .header("origin", "http://evil.example")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403, "a foreign Origin");
    let r = post(&fault)
        .bearer_auth(&token)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403, "Sec-Fetch-Site: cross-site");
    let r = http
        .post(format!("{base}/api/faults"))
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("kind=error-rate&service=payment&percent=50&ttl_s=30")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 415, "form bodies are refused");
    let r = http
        .get(format!("{base}/api/faults/reset"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 405, "GET changes nothing");
    let (ok, out) = apiary(
        &stack.path,
        &[
            "fault",
            "set",
            "error-rate",
            "service=payment",
            "percent=10",
        ],
    );
    assert!(
        !ok && out.contains("ttl_required"),
        "the CLI relays the refusal: {out}"
    );
    let active: Value = http
        .get(format!("{base}/api/faults"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(active["active"], json!([]), "nothing refused was applied");

    // Every shipped drill passes.
    let mut failures = Vec::new();
    let mut detect = Vec::new();
    // Per drill: whether the top probable cause named the injected fault, and what it said.
    let mut causes: Vec<(String, bool, String)> = Vec::new();
    let mut budgets: Vec<String> = Vec::new();
    for name in &shipped {
        let started = Instant::now();
        let (ok, out) = apiary(
            &stack.path,
            &["drill", "run", name, "--time-scale", TIME_SCALE],
        );
        println!(
            "--- {name} ({:.0} s) ---\n{out}",
            started.elapsed().as_secs_f64()
        );
        if !ok {
            failures.push(format!("{name}:\n{out}"));
        }
        let runs = json_of(&http, format!("{base}/api/drills/runs")).await;
        let last = &runs["runs"][0];
        assert_eq!(last["drill"], json!(name));
        if let Some(ms) = last["time_to_detect_ms"].as_u64() {
            detect.push((name.clone(), ms, last["time_to_recover_ms"].as_u64()));
        }
        let id = last["id"].as_str().expect("run id").to_owned();
        let report = json_of(&http, format!("{base}/api/drills/runs/{id}")).await;
        let cause = &report["cause"];
        causes.push((
            name.clone(),
            cause["hit"] == json!(true),
            format!(
                "{} (injected: {}){}",
                cause["top"]["summary"].as_str().unwrap_or("no cause"),
                cause["expected"]
                    .as_array()
                    .map(|e| e
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("; "))
                    .unwrap_or_default(),
                match cause["attribute_hit"].as_bool() {
                    Some(true) => " [attribute right]",
                    Some(false) => " [attribute wrong]",
                    None => "",
                }
            ),
        ));
        for b in report["budget"].as_array().into_iter().flatten() {
            budgets.push(format!(
                "  {name:<32} {} {}: {:.4} % of 30 days ({} bad of {})",
                b["service"].as_str().unwrap_or(""),
                b["slo"].as_str().unwrap_or(""),
                b["spent_30d"].as_f64().unwrap_or(0.0) * 100.0,
                b["bad"],
                b["requests"]
            ));
        }
        // The next drill starts from a healthy shop.
        all_up(&http, &base, Duration::from_secs(90)).await;
    }

    // The scale-out drill scaled catalog live, measured each phase and put it back.
    let runs = json_of(&http, format!("{base}/api/drills/runs?limit=50")).await;
    let scale_out = runs["runs"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["drill"] == "catalog-scale-out"))
        .and_then(|r| r["id"].as_str())
        .expect("the scale-out run")
        .to_owned();
    let report = json_of(&http, format!("{base}/api/drills/runs/{scale_out}")).await;
    let step = &report["scaling"][0];
    assert_eq!(
        (&step["service"], &step["from"], &step["replicas"]),
        (&json!("catalog"), &json!(1), &json!(3)),
        "{report}"
    );
    assert!(step["done_ms"].as_u64() >= step["at_ms"].as_u64(), "{step}");
    for phase in ["before", "during", "after"] {
        assert!(
            step[phase]["samples"].as_u64().unwrap_or(0) > 0 && step[phase]["rps"].is_number(),
            "{phase}: {step}"
        );
    }
    let scale = json_of(&http, format!("{base}/api/scale")).await;
    let catalog = scale["services"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["service"] == "catalog"))
        .expect("catalog");
    assert_eq!(catalog["replicas"], 1, "restored after the drill: {scale}");

    // The drill whose flag is disabled fails its symptom check, loudly.
    let (ok, out) = apiary(
        &stack.path,
        &["drill", "run", "disabled-fault", "--time-scale", TIME_SCALE],
    );
    println!("--- disabled-fault ---\n{out}");
    assert!(!ok, "a drill whose fault is disabled must fail:\n{out}");
    assert!(out.contains("symptom never appeared"), "{out}");

    // Reports, annotations and the audit log are left behind.
    let reports = std::fs::read_dir(stack.data_dir.join("drill-reports"))
        .expect("reports")
        .count();
    assert!(reports > shipped.len(), "one report per run: {reports}");
    let snap: Value = http
        .get(format!("{base}/api/snapshot"))
        .send()
        .await
        .expect("snapshot")
        .json()
        .await
        .expect("json");
    let windows = snap["faults"].as_array().cloned().unwrap_or_default();
    assert!(
        windows
            .iter()
            .any(|w| w["kind"] == "drill" && w["end"].is_u64()),
        "drill windows: {windows:?}"
    );
    assert!(
        windows
            .iter()
            .any(|w| w["kind"] == "fault" && w["end"].is_u64())
    );
    let audit = std::fs::read_to_string(stack.data_dir.join("audit.jsonl")).expect("audit");
    assert!(audit.lines().any(|l| l.contains("\"fault.set\"")));
    assert!(audit.lines().any(|l| l.contains("\"drill.end\"")));

    detect.sort_by_key(|d| d.1);
    println!("time to detect / recover per drill (time scale {TIME_SCALE}):");
    for (name, ttd, ttr) in &detect {
        println!(
            "  {name:<32} {:>6} ms  {:>6} ms",
            ttd,
            ttr.map_or_else(|| "-".into(), |t| t.to_string())
        );
    }
    if !detect.is_empty() {
        println!("median time to detect: {} ms", detect[detect.len() / 2].1);
    }
    println!("error budget spent per drill:");
    for line in &budgets {
        println!("{line}");
    }
    let hits = causes.iter().filter(|c| c.1).count();
    println!("probable cause per drill (the top cause a moment after the symptom):");
    for (name, hit, what) in &causes {
        println!(
            "  {name:<32} {:<5} {what}",
            if *hit { "right" } else { "WRONG" }
        );
    }
    println!(
        "probable cause hit rate: {hits} of {} drills ({:.0}%)",
        causes.len(),
        hits as f64 * 100.0 / causes.len().max(1) as f64
    );
    drop(launcher);
    assert!(
        failures.is_empty(),
        "drills failed:\n{}",
        failures.join("\n\n")
    );
    // The issue's goal is 9 in 10 (13 of the 14 shipped drills), and the suite says whether a
    // run met it. It fails under 4 in 5 (more than two misses of 14): a cause judged a moment
    // too early on a loaded CI machine is a miss the goal counts, not a regression of the
    // ranking, and must not hide every other result of the suite.
    println!(
        "probable cause goal (9 in 10): {}",
        if hits * 10 >= causes.len() * 9 {
            "met"
        } else {
            "NOT met"
        }
    );
    assert!(
        hits * 5 >= causes.len() * 4,
        "probable cause right in only {hits} of {} drills",
        causes.len()
    );
}
