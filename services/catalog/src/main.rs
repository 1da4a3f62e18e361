//! The catalog binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_chassis::server::run_service`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_chassis::server::run_service(
        catalog::SERVICE,
        catalog::Config::from_env(),
        catalog::build,
    )
    .await
}
