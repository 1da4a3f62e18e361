//! The orders binary: supervision -> configuration -> telemetry -> build -> run, all in
//! `apiary_chassis::server::run_service`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    apiary_chassis::server::run_service(orders::SERVICE, orders::Config::from_env(), orders::build)
        .await
}
