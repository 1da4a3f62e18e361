//! `spawn_app`: the real service on 127.0.0.1:0.

use apiary_telemetry::server::Service;
use shipping::{Application, Config};

pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    /// Dropping it stops the server.
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Config::for_tests()).await
}

pub async fn spawn_with(config: Config) -> TestApp {
    let app = Application::build(config).await.expect("build");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        http: reqwest::Client::new(),
        _stop: stop,
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

    pub async fn quote(&self, body: serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}/quotes", self.address))
            .json(&body)
            .send()
            .await
            .expect("request")
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

/// Asserts the standard error body and returns its code.
pub async fn error_code(resp: reqwest::Response) -> String {
    let body: serde_json::Value = resp.json().await.expect("json error body");
    assert!(body["error"]["message"].is_string(), "{body}");
    body["error"]["code"].as_str().expect("code").to_owned()
}
