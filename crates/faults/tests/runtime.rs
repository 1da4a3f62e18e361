//! The evaluator against a real flag file: changes are seen within a second, targeting works,
//! and a broken file means "no fault". One test: the evaluator is process-wide.

#![cfg(feature = "runtime")]

use std::time::{Duration, Instant};

use apiary_faults::runtime::{self, Link};
use std::path::Path;

use apiary_faults::{
    FaultSpec, ServiceShape, Shape, StoreKind, base_flags, render_faults, write_flag_file,
};

fn shape() -> Shape {
    Shape {
        services: [
            (
                "payment".to_owned(),
                ServiceShape {
                    depends_on: vec!["orders".to_owned()],
                    store: Some(StoreKind::Sqlite),
                    ..ServiceShape::default()
                },
            ),
            ("orders".to_owned(), ServiceShape::default()),
        ]
        .into(),
    }
}

fn write(path: &Path, specs: &[serde_json::Value]) {
    let shape = shape();
    let specs: Vec<FaultSpec> = specs
        .iter()
        .map(|s| serde_json::from_value(s.clone()).expect("spec"))
        .collect();
    let set = render_faults(&base_flags(&shape), &shape, &specs).expect("renders");
    write_flag_file(path, &set).expect("write");
}

async fn within_a_second<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        if check().await {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} not seen within a second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_take_effect_within_a_second_and_targeting_applies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("flags.flagd.json");
    write(&path, &[]);
    let faults = runtime::start_from_file("payment", "0.1.0", &path)
        .await
        .expect("starts");

    let calm = faults.decide("POST /charges", "/charges").await;
    assert_eq!(calm, runtime::Decision::default());
    assert_eq!(faults.link("orders").await, Link::Ok);

    write(
        &path,
        &[
            serde_json::json!({"kind": "error-rate", "service": "payment", "percent": 100, "route": "POST /charges"}),
            serde_json::json!({"kind": "slow-store", "service": "payment", "ms": 250}),
            serde_json::json!({"kind": "partition", "a": "payment", "b": "orders"}),
            serde_json::json!({"kind": "targeted-failure", "card_prefix": "4000", "percent": 100}),
        ],
    );
    let took = within_a_second("the error rate", || async {
        faults.decide("POST /charges", "/charges").await.error
    })
    .await;
    println!("change seen after {took:?}");
    assert!(
        !faults
            .decide("GET /charges/{key}", "/charges/x")
            .await
            .error,
        "other routes untouched"
    );
    assert_eq!(faults.store_delay().await, Some(Duration::from_millis(250)));
    assert_eq!(faults.link("orders").await, Link::Partitioned);
    assert!(faults.card_fails("400000").await);
    assert!(!faults.card_fails("555555").await);

    // A broken file is not a fault: the last good flags stay, nothing panics.
    std::fs::write(&path, b"{ not json").expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = faults.decide("POST /charges", "/charges").await;

    write(&path, &[]);
    within_a_second("the reset", || async {
        !faults.decide("POST /charges", "/charges").await.error
    })
    .await;
    assert_eq!(faults.store_delay().await, None);

    // More updates than the flagd store's channel holds (1000): evaluation must keep answering
    // (open-feature-flagd 0.3.0 deadlocks here unless the resolver drains that channel).
    let stuck_after = Duration::from_secs(5);
    for i in 0..1100 {
        write(&path, &[]);
        if i % 20 == 0 {
            tokio::time::timeout(stuck_after, faults.decide("POST /charges", "/charges"))
                .await
                .unwrap_or_else(|_| panic!("evaluation hung after {i} flag file updates"));
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    tokio::time::timeout(stuck_after, faults.decide("POST /charges", "/charges"))
        .await
        .expect("evaluation still answers after 1,100 updates");

    // What one request's evaluation costs (reported, not asserted).
    let n = 2000;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(faults.decide("POST /charges", "/charges").await);
    }
    println!("decide(): {:?} per request", start.elapsed() / n);
}
