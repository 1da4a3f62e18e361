//! `spawn_app`: the real service on 127.0.0.1:0 with its database in a temporary directory.

use std::path::Path;

use apiary_testkit::Served;
use orders::Config;
use serde_json::{Value, json};

pub use apiary_testkit::error_body as error;
pub use apiary_testkit::metric_value;

/// The running service (address, client, `get`, ...). Dropping it stops the server.
pub struct TestApp(Served);

apiary_testkit::served_app!(TestApp, 0);

/// A fresh service with its own empty data directory.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_in(dir.path()).await;
    TestApp(app.0.owning(dir))
}

/// A service on an existing data directory (restart tests).
pub async fn spawn_in(dir: &Path) -> TestApp {
    let app = orders::build(Config::for_tests(dir)).await.expect("build");
    TestApp(Served::start(app))
}

impl TestApp {
    pub async fn place(&self, body: &Value) -> reqwest::Response {
        self.post_json("/orders", body).await
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

/// A valid order in `currency`: 2 × 1000 + 1 × 550 + 495 shipping = 3045, 3 units.
pub fn order_in(id: &str, currency: &str) -> Value {
    let money = |amount: i64| json!({"amount_minor": amount, "currency": currency});
    json!({
        "order_id": id,
        "cart_id": "cart-1",
        "lines": [
            {"product_id": "BK-0001", "title": "The Distant Forest", "unit_price": money(1000), "quantity": 2},
            {"product_id": "MU-0002", "title": "Kind of Blue", "unit_price": money(550), "quantity": 1}
        ],
        "shipping": money(495),
        "total": money(3045),
        "charge_id": "ch_1",
        "reservation_id": id,
        "quote_id": "q-1"
    })
}

pub fn order(id: &str) -> Value {
    order_in(id, "EUR")
}
