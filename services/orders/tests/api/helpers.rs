//! `spawn_app`: the real service on 127.0.0.1:0 with its database in a temporary directory.

use std::path::Path;
use std::time::Duration;

use apiary_telemetry::server::Service;
use orders::{Application, Config};
use serde_json::{Value, json};

pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    /// Dropping it stops the server.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Kept alive as long as the app (when the app owns its directory).
    _dir: Option<tempfile::TempDir>,
}

/// A fresh service with its own empty data directory.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = spawn_in(dir.path()).await;
    app._dir = Some(dir);
    app
}

/// A service on an existing data directory (restart tests).
pub async fn spawn_in(dir: &Path) -> TestApp {
    let app = Application::build(Config::for_tests(dir))
        .await
        .expect("build");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        http: reqwest::Client::new(),
        stop: Some(stop),
        served: Some(served),
        _dir: None,
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

    pub async fn place(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/orders", self.address))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), served).await;
        }
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

/// Asserts the standard error body and returns its code and message.
pub async fn error(resp: reqwest::Response) -> (String, String) {
    let body: Value = resp.json().await.expect("json error body");
    let message = body["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    let code = body["error"]["code"].as_str().expect("code").to_owned();
    (code, message)
}

/// The value of the sample whose line starts with `series` (name and labels), 0 if absent.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
