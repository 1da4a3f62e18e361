//! `spawn_app`: the real service on 127.0.0.1:0, optionally consuming from a broker.

use apiary_bus::BrokerConfig;
use apiary_testkit::Served;
use notifications::Config;

pub use apiary_testkit::error_code;

/// The running service (address, client, `get`, ...); dropping it stops the server.
pub struct TestApp(Served);

apiary_testkit::served_app!(TestApp, 0);

pub async fn spawn_app(broker: BrokerConfig) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = notifications::build(Config::for_tests(dir.path(), broker))
        .await
        .expect("build");
    TestApp(Served::start(app).owning(dir))
}
