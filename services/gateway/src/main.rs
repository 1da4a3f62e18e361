//! The gateway binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_chassis::server::run_service`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_chassis::server::run_service(
        gateway::SERVICE,
        gateway::Config::from_env(),
        gateway::build,
    )
    .await
}
