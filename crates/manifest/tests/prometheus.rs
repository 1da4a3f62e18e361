//! prometheus/: the files written from the manifest are current, and Prometheus's own tool
//! accepts the configuration and the rules and passes the rules' unit tests (every alert fires
//! when it should and stays silent when it should not). `promtool` comes with Debian's
//! `prometheus` package, which scripts/test.sh installs.

use std::path::{Path, PathBuf};
use std::process::Command;

use apiary_manifest::Manifest;
use apiary_manifest::prometheus::{Network, scrape_config, slo_rules};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn manifest() -> Manifest {
    Manifest::load(&repo().join("apiary.toml")).expect("apiary.toml is valid")
}

fn committed(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs promtool in prometheus/ and returns its output; fails the test when it refuses.
fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(repo().join("prometheus"))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run promtool ({e}): install Debian's prometheus package (scripts/test.sh does)")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} refused:\n{text}");
    text
}

fn files_in(dir: &str, suffix: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repo().join("prometheus").join(dir))
        .unwrap_or_else(|e| panic!("prometheus/{dir}: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| format!("{dir}/{}", e.file_name().to_string_lossy()))
        .filter(|f| f.ends_with(suffix))
        .collect();
    files.sort();
    files
}

#[test]
fn the_scrape_config_and_slo_objectives_are_written_from_apiary_toml() {
    let m = manifest();
    assert_eq!(
        committed("prometheus/prometheus.yml"),
        scrape_config(&m, Network::Compose),
        "prometheus/prometheus.yml is stale: run `apiary export prometheus-config > prometheus/prometheus.yml`"
    );
    assert_eq!(
        committed("prometheus/rules/slo-objectives.rules.yml"),
        slo_rules(&m),
        "the SLO objectives are stale: run `apiary export slo-rules > prometheus/rules/slo-objectives.rules.yml`"
    );
    // Every service is a job, under its own name.
    let config = scrape_config(&m, Network::Compose);
    for s in &m.services {
        assert!(
            config.contains(&format!(
                "job_name: {0}\n    dns_sd_configs:\n      - names: [\"{0}\"]\n        type: A\n        port: {1}\n",
                s.name, s.port
            )),
            "{} is not scraped at every replica",
            s.name
        );
    }
}

#[test]
fn the_slo_latency_thresholds_are_bucket_bounds_the_services_record() {
    let recorded = apiary_telemetry::prometheus::HTTP_DURATION_BUCKETS;
    let whole_ms: Vec<u64> = recorded
        .iter()
        .map(|s| s * 1000.0)
        .filter(|ms| *ms >= 1.0 && (ms - ms.round()).abs() < 1e-9)
        .map(|ms| ms.round() as u64)
        .collect();
    assert_eq!(whole_ms, apiary_manifest::slo::LATENCY_BUCKETS_MS);
}

#[test]
fn promtool_accepts_the_configuration_and_every_rule_file() {
    let out = promtool(&["check", "config", "prometheus.yml"]);
    assert!(out.contains("SUCCESS"), "{out}");
    let rules = files_in("rules", ".rules.yml");
    assert!(rules.len() >= 5, "{rules:?}");
    let mut args = vec!["check", "rules"];
    args.extend(rules.iter().map(String::as_str));
    promtool(&args);
}

#[test]
fn every_alert_passes_its_promtool_unit_tests() {
    let tests = files_in("tests", ".test.yml");
    assert!(!tests.is_empty());
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    promtool(&args);
    // Every alert the rules define is exercised by at least one unit test.
    let rules: String = files_in("rules", ".rules.yml")
        .iter()
        .map(|f| committed(&format!("prometheus/{f}")))
        .collect();
    let tested: String = tests
        .iter()
        .map(|f| committed(&format!("prometheus/{f}")))
        .collect();
    for line in rules.lines() {
        if let Some(alert) = line.trim().strip_prefix("- alert: ") {
            assert!(
                tested.contains(&format!("alertname: {alert}\n")),
                "alert {alert} has no promtool unit test"
            );
        }
    }
}

/// Grafana: every dashboard is valid, has its own uid, reads only the provisioned data source
/// (by uid), and every recorded series it reads (`a:b:c`) is one the shipped rules record.
#[test]
fn the_grafana_dashboards_read_provisioned_sources_and_recorded_series() {
    let sources: serde_yaml::Value = serde_yaml::from_str(&committed(
        "grafana/provisioning/datasources/datasources.yaml",
    ))
    .expect("datasources yaml");
    let uids: Vec<&str> = sources["datasources"]
        .as_sequence()
        .expect("datasources")
        .iter()
        .filter_map(|d| d["uid"].as_str())
        .collect();
    for wanted in ["prometheus", "tempo", "loki"] {
        assert!(uids.contains(&wanted), "no {wanted} data source: {uids:?}");
    }
    // The links between them point at provisioned uids.
    let linked = serde_yaml::to_string(&sources).expect("yaml");
    for link in regex::Regex::new(r"datasourceUid: (\w+)")
        .expect("regex")
        .captures_iter(&linked)
    {
        assert!(
            uids.contains(&&link[1]),
            "a link to {} which is not provisioned",
            &link[1]
        );
    }

    let rules: String = files_in("rules", ".rules.yml")
        .iter()
        .map(|f| committed(&format!("prometheus/{f}")))
        .collect();
    let recorded: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record: "))
        .collect();
    let series = regex::Regex::new(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+").expect("regex");
    let source_uid = regex::Regex::new(r#""uid":\s*"([^"]+)""#).expect("regex");
    let mut board_uids = Vec::new();
    let dir = repo().join("grafana/dashboards");
    let mut boards = 0;
    for e in std::fs::read_dir(&dir).expect("dashboards") {
        let path = e.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let board: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        boards += 1;
        let uid = board["uid"].as_str().expect("a fixed uid").to_owned();
        assert!(!board_uids.contains(&uid), "uid {uid} used twice");
        board_uids.push(uid);
        assert!(board["id"].is_null(), "{}: id must be null", path.display());
        assert!(
            board["panels"].as_array().is_some_and(|p| !p.is_empty()),
            "{}",
            path.display()
        );
        for m in source_uid.captures_iter(&text) {
            if &m[1] != board["uid"].as_str().unwrap_or_default() {
                assert_eq!(
                    &m[1],
                    "prometheus",
                    "{}: data source {}",
                    path.display(),
                    &m[1]
                );
            }
        }
        for m in series.find_iter(&text) {
            assert!(
                recorded.contains(&m.as_str()),
                "{} reads {}, which no rule records",
                path.display(),
                m.as_str()
            );
        }
        // Fault windows shade every dashboard.
        assert!(
            text.contains("apiary_fault_active"),
            "{} has no fault annotation",
            path.display()
        );
    }
    assert_eq!(boards, 5, "overview, service, business, SLOs, telemetry");
}
