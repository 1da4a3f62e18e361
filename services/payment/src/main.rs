//! The payment binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_chassis::server::run_service`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_chassis::server::run_service(
        payment::SERVICE,
        payment::Config::from_env(),
        payment::build,
    )
    .await
}
