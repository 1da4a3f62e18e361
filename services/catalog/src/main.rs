//! The catalog binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_telemetry::server::run_service`.

use catalog::{Application, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_telemetry::server::run_service(catalog::SERVICE, Config::from_env(), Application::build)
        .await
}
