//! The orders binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_telemetry::server::run_service`.

use orders::{Application, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_telemetry::server::run_service(orders::SERVICE, Config::from_env(), Application::build)
        .await
}
