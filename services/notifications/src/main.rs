//! The notifications binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_chassis::server::run_service`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_chassis::server::run_service(
        notifications::SERVICE,
        notifications::Config::from_env(),
        notifications::build,
    )
    .await
}
