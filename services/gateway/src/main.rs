//! The gateway binary: telemetry -> configuration -> build -> run.

use std::process::ExitCode;

use gateway::{Application, Config};

#[tokio::main]
async fn main() -> ExitCode {
    apiary_telemetry::server::bind_lifetime_to_supervisor();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("gateway: {err}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match apiary_telemetry::init(gateway::SERVICE) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("gateway: {err}");
            return ExitCode::from(2);
        }
    };
    let code = match Application::build(config).await {
        Ok(app) => {
            tracing::info!(port = app.port(), "gateway listening");
            match app
                .run_until_stopped(apiary_telemetry::shutdown_signal())
                .await
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!(error = %err, "gateway stopped with an error");
                    ExitCode::FAILURE
                }
            }
        }
        Err(err) => {
            tracing::error!(error = %err, "gateway failed to start");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown().await;
    code
}
