//! The catalog binary: telemetry -> configuration -> build -> run.

use std::process::ExitCode;

use catalog::{Application, Config};

#[tokio::main]
async fn main() -> ExitCode {
    apiary_telemetry::server::bind_lifetime_to_supervisor();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("catalog: {err}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match apiary_telemetry::init(catalog::SERVICE) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("catalog: {err}");
            return ExitCode::from(2);
        }
    };
    let code = match Application::build(config).await {
        Ok(app) => {
            tracing::info!(
                port = app.port(),
                products = app.product_count(),
                "catalog listening"
            );
            match app
                .run_until_stopped(apiary_telemetry::shutdown_signal())
                .await
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!(error = %err, "catalog stopped with an error");
                    ExitCode::FAILURE
                }
            }
        }
        Err(err) => {
            tracing::error!(error = %err, "catalog failed to start");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown().await;
    code
}
