//! `spawn_app`: the real service on 127.0.0.1:0.

use apiary_testkit::Served;
use catalog::Config;

pub use apiary_testkit::error_code;

/// The running catalog (address, client, `get`, ...); dropping it stops the server.
pub type TestApp = Served;

pub async fn spawn_app() -> TestApp {
    let app = catalog::build(Config::for_tests()).await.expect("build");
    Served::start(app)
}
