//! The checkout binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_telemetry::server::run_service`.

use checkout::{Application, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_telemetry::server::run_service(checkout::SERVICE, Config::from_env(), Application::build)
        .await
}
