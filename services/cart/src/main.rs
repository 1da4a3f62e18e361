//! The cart binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_telemetry::server::run_service`.

use cart::{Application, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_telemetry::server::run_service(cart::SERVICE, Config::from_env(), Application::build)
        .await
}
