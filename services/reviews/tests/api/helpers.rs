//! `spawn_app`: the real service on 127.0.0.1:0 with its database in a temporary directory.

use std::path::Path;

use apiary_telemetry::server::Service;
use reviews::{Application, Config};
use serde_json::{Value, json};

pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

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
    let app = Application::build(Config::for_tests(data_dir, seed))
        .await
        .expect("build");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        http: reqwest::Client::new(),
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{}", self.address, path))
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{}", self.address, path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn reviews(&self, product: &str) -> apiary_wire::shop::ProductReviews {
        let resp = self
            .get(&format!("/products/{product}/reviews?limit=50"))
            .await;
        assert_eq!(resp.status(), 200, "{product}");
        resp.json().await.expect("reviews")
    }

    pub async fn submit(&self, product: &str, body: &Value) -> reqwest::Response {
        self.post(&format!("/products/{product}/reviews"), body)
            .await
    }

    /// Stops the server and waits until it has let go of the database.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
        }
    }
}

pub fn new_review(rating: u8, author: &str) -> Value {
    json!({ "rating": rating, "author": author, "title": "Worth it", "body": "A fine thing." })
}

/// Asserts the standard error body and returns its code and message.
pub async fn error_of(resp: reqwest::Response) -> (String, String) {
    let body: Value = resp.json().await.expect("json error body");
    let code = body["error"]["code"].as_str().expect("code").to_owned();
    let message = body["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    (code, message)
}
