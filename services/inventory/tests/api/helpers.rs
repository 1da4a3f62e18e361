//! `spawn_app`: the real service on 127.0.0.1:0 with its database in a temporary directory.

use std::path::Path;
use std::time::Duration;

use apiary_testkit::Served;
use inventory::Config;
use serde_json::{Value, json};

pub use apiary_testkit::error_body as error;
pub use apiary_testkit::metric_value;

/// The running service (address, client, `get`/`post_json`/`post_empty`, ...). Dropping it
/// stops the server.
pub struct TestApp(Served);

apiary_testkit::served_app!(TestApp, 0);

/// A fresh service with its own empty data directory.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_with(Config::for_tests(dir.path())).await;
    TestApp(app.0.owning(dir))
}

/// A service on an existing data directory (restart tests).
pub async fn spawn_in(dir: &Path) -> TestApp {
    spawn_with(Config::for_tests(dir)).await
}

/// A fresh service whose holds expire after `hold`, swept every 50 ms.
pub async fn spawn_with_hold(hold: Duration) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        hold,
        sweep_every: Duration::from_millis(50),
        ..Config::for_tests(dir.path())
    };
    let app = spawn_with(config).await;
    TestApp(app.0.owning(dir))
}

async fn spawn_with(config: Config) -> TestApp {
    let app = inventory::build(config).await.expect("build");
    TestApp(Served::start(app))
}

impl TestApp {
    pub async fn reserve(&self, id: &str, items: &[(&str, u32)]) -> reqwest::Response {
        self.post_json("/reservations", &reserve_body(id, items))
            .await
    }

    /// (available, reserved, sold) of one product.
    pub async fn level(&self, product_id: &str) -> (u64, u64, u64) {
        let resp = self.get(&format!("/stock/{product_id}")).await;
        assert_eq!(resp.status(), 200, "{product_id}");
        let v: Value = resp.json().await.expect("stock json");
        let n = |k: &str| v[k].as_u64().expect("count");
        (n("available"), n("reserved"), n("sold"))
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

pub fn reserve_body(id: &str, items: &[(&str, u32)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(p, q)| json!({"product_id": p, "quantity": q}))
        .collect();
    json!({"reservation_id": id, "items": items})
}

/// A seed product with at least `min` units, and its stock.
pub fn stocked_product(min: u32) -> (&'static str, u32) {
    apiary_seed::products()
        .iter()
        .find(|p| p.stock >= min)
        .map(|p| (p.id.as_str(), p.stock))
        .expect("a stocked seed product")
}

/// Another stocked product than `not`.
pub fn other_stocked_product(min: u32, not: &str) -> (&'static str, u32) {
    apiary_seed::products()
        .iter()
        .find(|p| p.stock >= min && p.id != not)
        .map(|p| (p.id.as_str(), p.stock))
        .expect("a second stocked seed product")
}

/// A seed product with exactly `units` in stock.
pub fn product_with_stock(units: u32) -> &'static str {
    apiary_seed::products()
        .iter()
        .find(|p| p.stock == units)
        .map(|p| p.id.as_str())
        .expect("a seed product with that stock")
}
