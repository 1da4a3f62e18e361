//! The shipping binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_chassis::server::run_service`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_chassis::server::run_service(
        shipping::SERVICE,
        shipping::Config::from_env(),
        shipping::build,
    )
    .await
}
