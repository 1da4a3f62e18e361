//! `spawn_app`: the real checkout on 127.0.0.1:0 with each of its six downstreams a wiremock.

use std::time::Duration;

use apiary_chassis::resilience::BreakerConfig;
use apiary_testkit::Served;
use checkout::config::{Config, Downstream};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub use apiary_testkit::error_code;

/// The running checkout (address, client, `get`, ...) and its downstreams. Dropping it stops
/// the server.
pub struct TestApp {
    served: Served,
    /// The saga log's directory (removed with the app).
    _data_dir: tempfile::TempDir,
    pub cart: MockServer,
    pub catalog: MockServer,
    pub inventory: MockServer,
    pub shipping: MockServer,
    pub payment: MockServer,
    pub orders: MockServer,
}

apiary_testkit::served_app!(TestApp, served);

/// Short enough that "slow payment" tests finish quickly.
pub const PAYMENT_TIMEOUT: Duration = Duration::from_millis(400);

pub const CHECKOUT_ID: &str = "co-1";

pub async fn spawn_app() -> TestApp {
    spawn_with_breaker(None).await
}

pub async fn spawn_with_breaker(breaker: Option<BreakerConfig>) -> TestApp {
    let (cart, catalog, inventory, shipping, payment, orders) = (
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
    );
    let data_dir = tempfile::tempdir().expect("data dir");
    let d = |server: &MockServer, timeout_ms: u64| Downstream {
        url: server.uri(),
        timeout: Duration::from_millis(timeout_ms),
        discovery: Default::default(),
    };
    let config = Config {
        host: [127, 0, 0, 1].into(),
        port: 0,
        cart: d(&cart, 500),
        catalog: d(&catalog, 500),
        inventory: d(&inventory, 500),
        shipping: d(&shipping, 500),
        payment: Downstream {
            url: payment.uri(),
            timeout: PAYMENT_TIMEOUT,
            discovery: Default::default(),
        },
        orders: d(&orders, 500),
        compensation_retry: Duration::from_millis(50),
        data_dir: data_dir.path().to_owned(),
        crash_at: None,
    };
    let app = checkout::startup::build_with_breaker(config, breaker)
        .await
        .expect("build");
    TestApp {
        served: Served::start(app),
        _data_dir: data_dir,
        cart,
        catalog,
        inventory,
        shipping,
        payment,
        orders,
    }
}

pub fn checkout_body(card_number: &str) -> Value {
    checkout_body_for(CHECKOUT_ID, card_number)
}

/// A checkout with its own id (each id runs its saga once; later requests replay it).
pub fn checkout_body_for(checkout_id: &str, card_number: &str) -> Value {
    json!({
        "checkout_id": checkout_id,
        "cart_id": "cart-1",
        "card": {"number": card_number, "expiry_month": 12, "expiry_year": 2031, "cvc": "123"},
        "shipping": {"country": "DE"}
    })
}

pub fn error_json(code: &str) -> Value {
    json!({"error": {"code": code, "message": format!("because {code}")}})
}

pub fn reservation(status: &str) -> Value {
    json!({
        "reservation_id": CHECKOUT_ID, "status": status,
        "items": [{"product_id": "BK-0001", "quantity": 2}, {"product_id": "MU-0002", "quantity": 1}],
        "expires_at_ms": 4_102_444_800_000_i64
    })
}

pub fn order_json() -> Value {
    json!({
        "order_id": CHECKOUT_ID, "seq": 1, "status": "placed", "cart_id": "cart-1",
        "lines": [
            {"product_id": "BK-0001", "title": "Book", "unit_price": {"amount_minor": 1000, "currency": "EUR"}, "quantity": 2},
            {"product_id": "MU-0002", "title": "Record", "unit_price": {"amount_minor": 2500, "currency": "EUR"}, "quantity": 1}
        ],
        "shipping": {"amount_minor": 490, "currency": "EUR"},
        "total": {"amount_minor": 4990, "currency": "EUR"},
        "charge_id": "ch_1", "reservation_id": CHECKOUT_ID, "quote_id": "q_1",
        "created_at_ms": 1
    })
}

impl TestApp {
    pub async fn checkout(&self, body: &Value) -> reqwest::Response {
        self.post_json("/checkouts", body).await
    }

    /// The saga's reads: a cart of two lines, their prices.
    pub async fn mount_reads(&self) {
        Mock::given(method("GET"))
            .and(path("/carts/cart-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "cart_id": "cart-1",
                "items": [{"product_id": "BK-0001", "quantity": 2}, {"product_id": "MU-0002", "quantity": 1}]
            })))
            .mount(&self.cart)
            .await;
        Mock::given(method("GET"))
            .and(path("/products"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "items": [
                    {"id": "BK-0001", "category": "books", "title": "Book", "creator": "A", "year": 2000,
                     "format": "paperback", "price": {"amount_minor": 1000, "currency": "EUR"}},
                    {"id": "MU-0002", "category": "music", "title": "Record", "creator": "B", "year": 1970,
                     "format": "vinyl", "price": {"amount_minor": 2500, "currency": "EUR"}}
                ],
                "total": 2, "limit": 2, "offset": 0
            })))
            .mount(&self.catalog)
            .await;
    }

    /// Reserve and quote succeed.
    pub async fn mount_hold_and_quote(&self) {
        Mock::given(method("POST"))
            .and(path("/reservations"))
            .respond_with(ResponseTemplate::new(201).set_body_json(reservation("held")))
            .mount(&self.inventory)
            .await;
        Mock::given(method("POST"))
            .and(path("/quotes"))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "quote_id": "q_1", "country": "DE", "carrier": "DHL", "eta_days": 2,
                "amount": {"amount_minor": 490, "currency": "EUR"}, "expires_at_ms": 4_102_444_800_000_i64
            })))
            .mount(&self.shipping)
            .await;
    }

    pub async fn mount_charge_ok(&self) {
        Mock::given(method("POST"))
            .and(path("/charges"))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "charge_id": "ch_1", "idempotency_key": CHECKOUT_ID, "status": "captured",
                "amount": {"amount_minor": 4990, "currency": "EUR"},
                "card_brand": "visa", "card_last4": "4242", "created_at_ms": 1
            })))
            .mount(&self.payment)
            .await;
    }

    /// Record, commit and empty succeed.
    pub async fn mount_after_charge(&self) {
        Mock::given(method("POST"))
            .and(path("/orders"))
            .respond_with(ResponseTemplate::new(201).set_body_json(order_json()))
            .mount(&self.orders)
            .await;
        Mock::given(method("POST"))
            .and(path_regex("^/reservations/[^/]+/commit$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(reservation("committed")))
            .mount(&self.inventory)
            .await;
        Mock::given(method("DELETE"))
            .and(path("/carts/cart-1"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&self.cart)
            .await;
    }

    /// How many requests `server` received for `method path`.
    pub async fn calls(server: &MockServer, verb: &str, route: &str) -> usize {
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() == verb && r.url.path() == route)
            .count()
    }

    /// Waits (bounded) until the background compensations are done.
    pub async fn settle(&self) -> Value {
        self.settle_after(0).await
    }

    /// Waits (5 s at most) until no compensation is owed and at least `completed` finished.
    /// Both are asked for: a task's row is deleted a moment before the finished count moves.
    pub async fn settle_after(&self, completed: u64) -> Value {
        let mut status = Value::Null;
        for _ in 0..100 {
            status = self.get("/compensations").await.json().await.expect("json");
            if status["pending"] == 0 && status["completed_total"].as_u64() >= Some(completed) {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("compensations did not settle within 5 s: {status}");
    }
}
