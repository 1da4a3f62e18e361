//! The checkout binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_chassis::server::run_service`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_chassis::server::run_service(
        checkout::SERVICE,
        checkout::Config::from_env(),
        checkout::build,
    )
    .await
}
