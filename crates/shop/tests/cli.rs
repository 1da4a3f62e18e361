//! The multi-call binary as the launcher uses it: `--list`, one service by name, refusals.

use std::process::Command;

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
            "orders",
            "notifications"
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

#[tokio::test]
async fn it_runs_the_named_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog =
        apiary_testkit::ServiceBinary::start_with_args(BIN, &["catalog"], dir.path()).await;
    let http = reqwest::Client::new();
    let metrics = http
        .get(catalog.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("process_start_time_seconds"), "{metrics}");
    // A catalog route: it is catalog that answers, not just some service.
    let categories = http
        .get(catalog.url("/categories"))
        .send()
        .await
        .expect("categories");
    assert!(categories.status().is_success(), "{}", categories.status());
    let body = categories.text().await.expect("text");
    assert!(body.contains("books"), "{body}");
}
