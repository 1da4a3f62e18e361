//! `spawn_app`: the real service on 127.0.0.1:0 with its database in a temporary directory.

use std::path::Path;

use apiary_testkit::Served;
use payment::Config;
use serde_json::{Value, json};

pub use apiary_testkit::error_body as error_of;

/// The running service (address, client, `get`/`post_json`, ...). Dropping it stops the
/// server.
pub struct TestApp(Served);

apiary_testkit::served_app!(TestApp, 0);

/// A fresh service with an empty ledger; keep the directory alive as long as the app.
pub async fn spawn_app() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_in(dir.path()).await;
    (app, dir)
}

/// The service on an existing data directory (a "restart" when one ran there before).
pub async fn spawn_in(data_dir: &Path) -> TestApp {
    let app = payment::build(Config::for_tests(data_dir))
        .await
        .expect("build");
    TestApp(Served::start(app))
}

impl TestApp {
    pub async fn charge(&self, body: &Value) -> reqwest::Response {
        self.post_json("/charges", body).await
    }

    pub async fn void(&self, key: &str) -> reqwest::Response {
        self.post_json("/voids", &json!({ "idempotency_key": key }))
            .await
    }

    /// Stops the server and waits until it has let go of the database.
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

/// A charge request; expiry far in the future unless the test changes it.
pub fn charge_body(key: &str, number: &str, amount_minor: i64) -> Value {
    json!({
        "idempotency_key": key,
        "amount": { "amount_minor": amount_minor, "currency": "EUR" },
        "card": { "number": number, "expiry_month": 12, "expiry_year": 2099, "cvc": "123" }
    })
}

/// A unique key per call, so tests sharing nothing never collide.
pub fn new_key() -> String {
    format!("test-{}", uuid::Uuid::new_v4())
}
