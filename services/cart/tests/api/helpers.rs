//! `spawn_app`: the real service on 127.0.0.1:0.

use std::sync::Arc;

use apiary_testkit::Served;
use cart::Config;
use cart::store::CartStore;

pub use apiary_testkit::error_code;

/// The running cart (address, client, `get`/`delete`, ...) and its store. Dropping it stops
/// the server.
pub struct TestApp {
    served: Served,
    pub store: Arc<CartStore>,
}

apiary_testkit::served_app!(TestApp, served);

pub async fn spawn_app() -> TestApp {
    spawn_with(Config::for_tests()).await
}

pub async fn spawn_with(config: Config) -> TestApp {
    let store = Arc::new(CartStore::new(config.ttl, config.max_carts));
    let app = cart::startup::build_on(store.clone(), config)
        .await
        .expect("build");
    TestApp {
        served: Served::start(app),
        store,
    }
}

impl TestApp {
    pub async fn add(&self, cart: &str, product: &str, quantity: u32) -> reqwest::Response {
        self.post_json(
            &format!("/carts/{cart}/items"),
            &serde_json::json!({"product_id": product, "quantity": quantity}),
        )
        .await
    }

    pub async fn set(&self, cart: &str, product: &str, quantity: u32) -> reqwest::Response {
        self.put_json(
            &format!("/carts/{cart}/items/{product}"),
            &serde_json::json!({"quantity": quantity}),
        )
        .await
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
