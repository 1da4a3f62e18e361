//! `spawn_app`: the real service on 127.0.0.1:0 with its database in a temporary directory.

use std::path::Path;

use apiary_telemetry::server::Service;
use payment::{Application, Config};
use serde_json::{Value, json};

pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A fresh service with an empty ledger; keep the directory alive as long as the app.
pub async fn spawn_app() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_in(dir.path()).await;
    (app, dir)
}

/// The service on an existing data directory (a "restart" when one ran there before).
pub async fn spawn_in(data_dir: &Path) -> TestApp {
    let app = Application::build(Config::for_tests(data_dir))
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

    pub async fn charge(&self, body: &Value) -> reqwest::Response {
        self.post("/charges", body).await
    }

    pub async fn void(&self, key: &str) -> reqwest::Response {
        self.post("/voids", &json!({ "idempotency_key": key }))
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
