//! `spawn_app`: the real service on 127.0.0.1:0 with the orders feed pointed at wiremock.

use std::time::Duration;

use apiary_testkit::Served;
use apiary_wire::shop::{Order, OrderFeed, OrderLine, Recommendations};
use apiary_wire::{Currency, Money};
use recommendations::Config;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub use apiary_testkit::error_code;

/// The running service (address, client, `get`, ...) and the orders feed it reads. Dropping
/// it stops the server.
pub struct TestApp {
    served: Served,
    pub orders: MockServer,
}

apiary_testkit::served_app!(TestApp, served);

/// Tight, so "slow orders" tests finish quickly.
pub const ORDERS_TIMEOUT: Duration = Duration::from_millis(200);
pub const POLL: Duration = Duration::from_millis(50);

pub async fn spawn_app() -> TestApp {
    let orders = MockServer::start().await;
    spawn_with_orders_url(orders.uri(), orders).await
}

pub async fn spawn_with_orders_url(orders_url: String, orders: MockServer) -> TestApp {
    let config = Config {
        host: [127, 0, 0, 1].into(),
        port: 0,
        orders: apiary_chassis::Downstream {
            url: orders_url,
            timeout: ORDERS_TIMEOUT,
        },
        poll_interval: POLL,
    };
    let app = recommendations::build(config).await.expect("build");
    TestApp {
        served: Served::start(app),
        orders,
    }
}

impl TestApp {
    pub async fn recommendations(&self, path: &str) -> Recommendations {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), 200, "{path}");
        resp.json().await.expect("recommendations")
    }

    /// Polls until `product` is answered by `model`, within a bound; the last answer.
    pub async fn wait_for_model(&self, product: &str, model: &str) -> Recommendations {
        let path = format!("/recommendations/{product}?limit=5");
        let mut last = self.recommendations(&path).await;
        for _ in 0..60 {
            if last.model == model {
                break;
            }
            tokio::time::sleep(POLL).await;
            last = self.recommendations(&path).await;
        }
        last
    }

    /// Serves `orders` as the feed from seq 0, then an empty feed at its end.
    pub async fn serve_feed(&self, orders: Vec<Order>) {
        let last_seq = orders.iter().map(|o| o.seq).max().unwrap_or(0);
        Mock::given(method("GET"))
            .and(path("/orders"))
            .and(query_param("after_seq", "0"))
            .and(query_param("limit", "500"))
            .respond_with(ResponseTemplate::new(200).set_body_json(OrderFeed {
                items: orders,
                last_seq,
            }))
            .mount(&self.orders)
            .await;
        Mock::given(method("GET"))
            .and(path("/orders"))
            .and(query_param("after_seq", last_seq.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(OrderFeed {
                items: Vec::new(),
                last_seq,
            }))
            .mount(&self.orders)
            .await;
    }

    /// How many feed calls orders received.
    pub async fn feed_calls(&self) -> usize {
        self.orders
            .received_requests()
            .await
            .map(|r| r.iter().filter(|r| r.url.path() == "/orders").count())
            .unwrap_or(0)
    }
}

/// An order of one unit of each product.
pub fn order(seq: i64, products: &[&str]) -> Order {
    let eur = |amount_minor| Money {
        amount_minor,
        currency: Currency::EUR,
    };
    Order {
        order_id: format!("order-{seq}"),
        seq,
        status: "placed".to_owned(),
        cart_id: format!("cart-{seq}"),
        lines: products
            .iter()
            .map(|p| OrderLine {
                product_id: (*p).to_owned(),
                title: "A title".to_owned(),
                unit_price: eur(999),
                quantity: 1,
            })
            .collect(),
        shipping: eur(490),
        total: eur(490 + 999 * products.len() as i64),
        charge_id: format!("ch_{seq}"),
        reservation_id: format!("order-{seq}"),
        quote_id: format!("q_{seq}"),
        created_at_ms: 1_700_000_000_000 + seq,
    }
}

pub fn ids(recs: &Recommendations) -> Vec<&str> {
    recs.items.iter().map(|r| r.product_id.as_str()).collect()
}
