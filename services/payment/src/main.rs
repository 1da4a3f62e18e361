//! The payment binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_telemetry::server::run_service`.

use payment::{Application, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_telemetry::server::run_service(payment::SERVICE, Config::from_env(), Application::build)
        .await
}
