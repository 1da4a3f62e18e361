//! The multi-call binary as the launcher uses it: `--list`, one service by name, refusals.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_apiary-shop");

#[test]
fn it_lists_the_ten_services() {
    let out = Command::new(BIN).arg("--list").output().expect("run");
    assert!(out.status.success());
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        names,
        [
            "gateway",
            "catalog",
            "cart",
            "checkout",
            "inventory",
            "payment",
            "shipping",
            "reviews",
            "recommendations",
            "orders"
        ]
    );
}

#[test]
fn an_unknown_service_or_no_argument_is_a_usage_error() {
    for args in [vec!["pricing"], vec![], vec!["catalog", "extra"]] {
        let out = Command::new(BIN).args(&args).output().expect("run");
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("usage: apiary-shop"), "{args:?}: {err}");
        if args == ["pricing"] {
            assert!(err.contains("no service named 'pricing'"), "{err}");
        }
    }
}

/// Kills the child when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn it_runs_the_named_service() {
    let port = apiary_testkit::free_port();
    let _child = Running(
        Command::new(BIN)
            .arg("catalog")
            .env("APIARY_HOST", "127.0.0.1")
            .env("APIARY_PORT", port.to_string())
            .env("OTEL_SDK_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{base}/health/ready")).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(Instant::now() < deadline, "catalog never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("process_start_time_seconds"), "{metrics}");
    // A catalog route: it is catalog that answers, not just some service.
    let categories = http
        .get(format!("{base}/categories"))
        .send()
        .await
        .expect("categories");
    assert!(categories.status().is_success(), "{}", categories.status());
    let body = categories.text().await.expect("text");
    assert!(body.contains("books"), "{body}");
}
