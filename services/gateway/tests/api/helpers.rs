//! `spawn_app`: the real gateway on 127.0.0.1:0 with every downstream pointed at wiremock.

use std::time::Duration;

use apiary_telemetry::server::Service;
use gateway::{Application, Config};
use wiremock::MockServer;

pub struct TestApp {
    pub address: String,
    pub catalog: MockServer,
    pub http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Tight enough that the "slow catalog" tests finish quickly.
pub const CATALOG_TIMEOUT: Duration = Duration::from_millis(300);

pub async fn spawn_app() -> TestApp {
    let catalog = MockServer::start().await;
    spawn_with_catalog_url(catalog.uri(), catalog).await
}

pub async fn spawn_with_catalog_url(catalog_url: String, catalog: MockServer) -> TestApp {
    let config = Config {
        host: [127, 0, 0, 1].into(),
        port: 0,
        catalog_url,
        catalog_timeout: CATALOG_TIMEOUT,
    };
    let app = Application::build(config).await.expect("build");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        catalog,
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
}

pub fn product_json(id: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id, "category": "books", "title": "Dracula", "creator": "Bram Stoker",
        "year": 1897, "format": "paperback", "price": {"amount_minor": 1099, "currency": "EUR"}
    })
}

/// Asserts the standard error body and returns its code.
pub async fn error_code(resp: reqwest::Response) -> String {
    let body: serde_json::Value = resp.json().await.expect("json error body");
    assert!(body["error"]["message"].is_string(), "{body}");
    body["error"]["code"].as_str().expect("code").to_owned()
}
