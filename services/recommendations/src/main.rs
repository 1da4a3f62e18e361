//! The recommendations binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_chassis::server::run_service`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_chassis::server::run_service(
        recommendations::SERVICE,
        recommendations::Config::from_env(),
        recommendations::build,
    )
    .await
}
