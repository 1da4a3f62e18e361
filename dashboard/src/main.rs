//! The dashboard binary: console logs (it does not export telemetry to itself) -> configuration
//! -> build -> run.

use std::process::ExitCode;

/// Ingest allocates and frees many small strings per span (protobuf decoding); glibc's malloc
/// spent about 40% of an ingest profile on that, mimalloc a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use dashboard::startup::Access;
use dashboard::{Application, Config};

/// Apiary's dashboard: the OTLP receiver, the scraper of every service in the manifest, the
/// UI and its API, and the fault control plane. Everything else is configured by its
/// environment (APIARY_MANIFEST, APIARY_HOST, APIARY_PORT, DASHBOARD_*: see dashboard/README.md).
#[derive(Debug, Parser)]
#[command(name = "dashboard", version)]
struct Cli {
    /// Off loopback, accept anyone: no UI/API token and no OTLP key (also DASHBOARD_UNSECURED).
    #[arg(long)]
    unsecured: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    apiary_chassis::server::bind_lifetime_to_supervisor();
    let mut config = match Config::from_env() {
        Ok(c) => c,
        Err(err) => {
            eprintln!("dashboard: {err}");
            return ExitCode::from(2);
        }
    };
    config.unsecured |= cli.unsecured;
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
                .run_until_stopped(apiary_chassis::shutdown_signal())
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
