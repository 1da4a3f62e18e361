//! The inventory binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_telemetry::server::run_service`.

use inventory::{Application, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_telemetry::server::run_service(
        inventory::SERVICE,
        Config::from_env(),
        Application::build,
    )
    .await
}
