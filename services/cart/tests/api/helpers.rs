//! `spawn_app`: the real service on 127.0.0.1:0.

use std::sync::Arc;

use apiary_telemetry::server::Service;
use cart::store::CartStore;
use cart::{Application, Config};

pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub store: Arc<CartStore>,
    /// Dropping it stops the server.
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Config::for_tests()).await
}

pub async fn spawn_with(config: Config) -> TestApp {
    let app = Application::build(config).await.expect("build");
    let address = format!("http://127.0.0.1:{}", app.port());
    let store = app.store();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        http: reqwest::Client::new(),
        store,
        _stop: stop,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("request")
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn add(&self, cart: &str, product: &str, quantity: u32) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/carts/{cart}/items")))
            .json(&serde_json::json!({"product_id": product, "quantity": quantity}))
            .send()
            .await
            .expect("request")
    }

    pub async fn set(&self, cart: &str, product: &str, quantity: u32) -> reqwest::Response {
        self.http
            .put(self.url(&format!("/carts/{cart}/items/{product}")))
            .json(&serde_json::json!({"quantity": quantity}))
            .send()
            .await
            .expect("request")
    }
}

/// The cart's lines as (product, quantity) pairs.
pub async fn lines(resp: reqwest::Response) -> Vec<(String, u32)> {
    assert_eq!(resp.status(), 200);
    let cart: apiary_wire::shop::Cart = resp.json().await.expect("cart");
    cart.items
        .into_iter()
        .map(|l| (l.product_id, l.quantity))
        .collect()
}

pub fn line(product: &str, quantity: u32) -> (String, u32) {
    (product.to_owned(), quantity)
}

/// Asserts the standard error body and returns its code.
pub async fn error_code(resp: reqwest::Response) -> String {
    let body: serde_json::Value = resp.json().await.expect("json error body");
    assert!(body["error"]["message"].is_string(), "{body}");
    body["error"]["code"].as_str().expect("code").to_owned()
}
