//! `spawn_app`: the real service on 127.0.0.1:0 with its database in a temporary directory.

use std::path::Path;
use std::time::Duration;

use apiary_telemetry::server::Service;
use inventory::{Application, Config};
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
    let mut app = spawn_with(Config::for_tests(dir.path())).await;
    app._dir = Some(dir);
    app
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
    let mut app = spawn_with(config).await;
    app._dir = Some(dir);
    app
}

async fn spawn_with(config: Config) -> TestApp {
    let app = Application::build(config).await.expect("build");
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

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{}", self.address, path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_empty(&self, path: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{}", self.address, path))
            .send()
            .await
            .expect("request")
    }

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
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), served).await;
        }
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

/// The value of the first sample whose line starts with `series` (name and labels), 0 if absent.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
