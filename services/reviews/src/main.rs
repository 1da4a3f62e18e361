//! The reviews binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_chassis::server::run_service`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_chassis::server::run_service(
        reviews::SERVICE,
        reviews::Config::from_env(),
        reviews::build,
    )
    .await
}
