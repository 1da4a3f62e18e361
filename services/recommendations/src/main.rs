//! The recommendations binary: supervision -> configuration -> telemetry -> build -> run, all
//! in `apiary_telemetry::server::run_service`.

use recommendations::{Application, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_telemetry::server::run_service(
        recommendations::SERVICE,
        Config::from_env(),
        Application::build,
    )
    .await
}
