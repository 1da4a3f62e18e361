//! The dashboard binary: console logs (it does not export telemetry to itself) -> configuration
//! -> build -> run.

use std::process::ExitCode;

/// Ingest allocates and frees many small strings per span (protobuf decoding); glibc's malloc
/// spent about 40% of an ingest profile on that, mimalloc a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use dashboard::startup::Access;
use dashboard::{Application, Config};

#[tokio::main]
async fn main() -> ExitCode {
    apiary_telemetry::server::bind_lifetime_to_supervisor();
    let mut config = match Config::from_env() {
        Ok(c) => c,
        Err(err) => {
            eprintln!("dashboard: {err}");
            return ExitCode::from(2);
        }
    };
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--unsecured" => config.unsecured = true,
            other => {
                eprintln!(
                    "dashboard: unknown argument '{other}' (the only one is --unsecured; the rest is configured by environment, see its README)"
                );
                return ExitCode::from(2);
            }
        }
    }
    let telemetry = match apiary_telemetry::init_console_only() {
        Ok(g) => g,
        Err(err) => {
            eprintln!("dashboard: {err}");
            return ExitCode::from(2);
        }
    };
    let code = match Application::build(config).await {
        Ok(app) => {
            tracing::info!(
                ui = app.port(),
                otlp_grpc = app.otlp_grpc_port(),
                otlp_http = app.otlp_http_port(),
                "dashboard listening"
            );
            match &app.access {
                Access::Loopback => {}
                Access::Token { token, .. } => {
                    // Printed once, on purpose: the operator needs it to open the UI (the
                    // way Jupyter prints its token); nothing else ever logs it.
                    let token = secrecy::ExposeSecret::expose_secret(token);
                    tracing::warn!(
                        "not on loopback: open the UI with ?token={token} (API: Authorization: Bearer {token}; OTLP: x-api-key)"
                    );
                }
                Access::Unsecured => {
                    tracing::warn!(
                        "UNSECURED: listening off loopback with no token and no OTLP key; anyone who can reach it can read and write"
                    );
                }
            }
            match app
                .run_until_stopped(apiary_telemetry::shutdown_signal())
                .await
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!(error = %err, "dashboard stopped with an error");
                    ExitCode::FAILURE
                }
            }
        }
        Err(err) => {
            tracing::error!(error = %err, "dashboard failed to start");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown().await;
    code
}
