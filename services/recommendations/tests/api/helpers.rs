//! `spawn_app`: the real service on 127.0.0.1:0 with its data in a temporary directory,
//! optionally learning from a broker; `order_placed` builds the events it learns from.

use std::path::Path;
use std::time::Duration;

use apiary_bus::{BrokerConfig, Outgoing};
use apiary_testkit::Served;
use apiary_wire::events::OrderPlaced;
use apiary_wire::shop::Recommendations;
use recommendations::Config;

pub use apiary_testkit::error_code;

/// The running service (address, client, `get`, ...). Dropping it stops the server.
pub struct TestApp(Served);

apiary_testkit::served_app!(TestApp, 0);

pub const POLL: Duration = Duration::from_millis(50);

/// No broker: the model learns nothing new.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_in(dir.path(), BrokerConfig::none()).await;
    TestApp(app.0.owning(dir))
}

/// With its data in `dir` (kept by the caller, for restarts), learning from `broker`.
pub async fn spawn_in(dir: &Path, broker: BrokerConfig) -> TestApp {
    let app = recommendations::build(Config::for_tests(dir, broker))
        .await
        .expect("build");
    TestApp(Served::start(app))
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
        for _ in 0..200 {
            if last.model == model {
                break;
            }
            tokio::time::sleep(POLL).await;
            last = self.recommendations(&path).await;
        }
        last
    }

    /// Stops it (letting go of its database) so the test can start it again.
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

/// The `order.placed` event of `order_id`, one unit of each product.
pub fn order_placed(order_id: &str, products: &[&str]) -> Outgoing {
    let lines: Vec<(&str, u32)> = products.iter().map(|p| (*p, 1)).collect();
    let event = apiary_testkit::events::order_placed(order_id, &lines);
    Outgoing::event(OrderPlaced::message_id(order_id), OrderPlaced::NAME, &event).expect("json")
}

pub fn ids(recs: &Recommendations) -> Vec<&str> {
    recs.items.iter().map(|r| r.product_id.as_str()).collect()
}
