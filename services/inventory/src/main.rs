//! The inventory binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_chassis::server::run_service`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_chassis::server::run_service(
        inventory::SERVICE,
        inventory::Config::from_env(),
        inventory::build,
    )
    .await
}
