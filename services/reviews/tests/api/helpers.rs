//! `spawn_app`: the real service on 127.0.0.1:0 with its database in a temporary directory.

use std::path::Path;

use apiary_testkit::Served;
use reviews::Config;
use serde_json::{Value, json};

pub use apiary_testkit::error_body as error_of;

/// The running service (address, client, `get`/`post_json`, ...). Dropping it stops the
/// server.
pub struct TestApp(Served);

apiary_testkit::served_app!(TestApp, 0);

/// A fresh service with the seed reviews.
pub async fn spawn_seeded() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_in(dir.path(), true).await;
    (app, dir)
}

/// A fresh service without any reviews.
pub async fn spawn_empty() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_in(dir.path(), false).await;
    (app, dir)
}

/// The service on an existing data directory (a "restart" when one ran there before).
pub async fn spawn_in(data_dir: &Path, seed: bool) -> TestApp {
    let app = reviews::build(Config::for_tests(data_dir, seed))
        .await
        .expect("build");
    TestApp(Served::start(app))
}

impl TestApp {
    pub async fn reviews(&self, product: &str) -> apiary_wire::shop::ProductReviews {
        let resp = self
            .get(&format!("/products/{product}/reviews?limit=50"))
            .await;
        assert_eq!(resp.status(), 200, "{product}");
        resp.json().await.expect("reviews")
    }

    pub async fn submit(&self, product: &str, body: &Value) -> reqwest::Response {
        self.post_json(&format!("/products/{product}/reviews"), body)
            .await
    }

    /// Stops the server and waits until it has let go of the database.
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

pub fn new_review(rating: u8, author: &str) -> Value {
    json!({ "rating": rating, "author": author, "title": "Worth it", "body": "A fine thing." })
}
