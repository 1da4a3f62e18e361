//! `spawn_app`: the real service on 127.0.0.1:0.

use apiary_testkit::Served;
use shipping::Config;

pub use apiary_testkit::error_code;

/// The running service (address, client, `get`, ...); dropping it stops the server.
pub struct TestApp(Served);

apiary_testkit::served_app!(TestApp, 0);

pub async fn spawn_app() -> TestApp {
    spawn_with(|c| c).await
}

/// The service with its test configuration (data in a temporary directory) changed by `adjust`.
pub async fn spawn_with(adjust: impl FnOnce(Config) -> Config) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = shipping::build(adjust(Config::for_tests(dir.path())))
        .await
        .expect("build");
    TestApp(Served::start(app).owning(dir))
}

impl TestApp {
    pub async fn quote(&self, body: serde_json::Value) -> reqwest::Response {
        self.post_json("/quotes", &body).await
    }
}

/// A quote request body: `country` and (product, quantity) lines.
pub fn request(country: &str, lines: &[(&str, u32)]) -> serde_json::Value {
    let items: Vec<_> = lines
        .iter()
        .map(|(p, q)| serde_json::json!({"product_id": p, "quantity": q}))
        .collect();
    serde_json::json!({"country": country, "items": items})
}
