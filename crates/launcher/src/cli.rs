//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "apiary", version, about = "Run and observe the Apiary stack")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the stack: every service as its own process, supervised, until Ctrl-C.
    Up(UpArgs),
    /// List the services of the manifest with their ports and dependencies.
    Services(ManifestArgs),
    /// Run the load generator (`apiary-load`); every argument is passed on (`apiary load --help`).
    #[command(disable_help_flag = true)]
    Load(LoadArgs),
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Where the `apiary-load` binary is (default: the directory of this executable).
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,

    /// Arguments for the load generator.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// The stack manifest (default: $APIARY_MANIFEST, else the nearest apiary.toml upwards).
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,

    /// Start only these services (and what they depend on). Comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub only: Vec<String>,

    /// Do not start the dashboard even if the manifest has one.
    #[arg(long)]
    pub no_dashboard: bool,

    /// Where the service binaries are (default: the directory of this executable).
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,

    /// Where durable services keep their SQLite files (default: the manifest's
    /// `stack.data_dir`, relative to the manifest's directory).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Journeys a second of background load (default: the manifest's `[load] rate`); 0 = none.
    #[arg(long, value_name = "RATE")]
    pub load_rate: Option<f64>,

    /// Start no background load even if the manifest has a `[load]` section.
    #[arg(long)]
    pub no_load: bool,

    /// Send OTLP here instead of the manifest's endpoint.
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,

    /// Give up if not every service is ready after this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub ready_timeout: u64,

    /// After SIGTERM, wait this long before SIGKILL.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub stop_timeout: u64,
}
