//! The Apiary launcher.
//!
//! # Layout
//! - [`cli`] — the command line (`apiary up`, `apiary services`).
//! - [`plan`] — turns the stack manifest and the command line into a launch plan: which
//!   binaries, in which order, with which environment; refuses unknown names, missing binaries
//!   and ports already in use before anything starts.
//! - [`supervisor`] — one task per service: spawns the process in its own process group,
//!   prefixes its output lines with its name, restarts it with backoff when it crashes, and
//!   stops it with SIGTERM then SIGKILL after a timeout.
//! - [`up`] — the `up` command: start everything, wait for every `/health/ready`, print the
//!   table, then wait for Ctrl-C/SIGTERM and stop everything.
//! - [`output`] — the interleaved, name-prefixed console.
//! - [`fleet`] — every service's instances, each supervised on its own; the endpoints files
//!   callers balance over; live scaling through the launcher's control API.
//! - [`control`] — `apiary fault`, `apiary drill` and `apiary scale`: the dashboard's control API from the
//!   command line (token from `<data_dir>/control.token`).

pub mod cli;
pub mod control;
pub mod fleet;
pub mod output;
pub mod plan;
pub mod supervisor;
pub mod up;

use std::process::ExitCode;

/// Exit code for a refused command line, manifest or environment.
pub const EXIT_USAGE: u8 = 2;

/// `apiary export ...`: a file written from the manifest, on stdout.
fn export(args: &cli::ExportArgs) -> Result<(), LaunchError> {
    let (manifest_path, manifest) = plan::load_manifest(&args.manifest)?;
    let text = match &args.what {
        cli::Export::Kubernetes { out } => {
            return export_kubernetes(&manifest_path, &manifest, out);
        }
        cli::Export::PrometheusConfig { local } => {
            use apiary_manifest::prometheus::{Network, scrape_config};
            scrape_config(
                &manifest,
                if *local {
                    Network::Local
                } else {
                    Network::Compose
                },
            )
        }
        cli::Export::SloRules => apiary_manifest::prometheus::slo_rules(&manifest),
    };
    print!("{text}");
    Ok(())
}

/// Writes the Kubernetes base into `out`, replacing the files an earlier export wrote there.
fn export_kubernetes(
    manifest_path: &std::path::Path,
    manifest: &apiary_manifest::Manifest,
    out: &std::path::Path,
) -> Result<(), LaunchError> {
    use apiary_manifest::kubernetes::{HEADER, Images, Inputs, base};
    let read = |path: std::path::PathBuf| {
        std::fs::read_to_string(&path)
            .map_err(|e| LaunchError::Runtime(format!("cannot read {}: {e}", path.display())))
    };
    let dir = manifest_path.parent().unwrap_or(std::path::Path::new("."));
    let manifest_text = read(manifest_path.to_owned())?;
    let flags = read(manifest.resolve(manifest_path, &manifest.faults.flags))?;
    let collector = read(dir.join("otel/collector.yaml"))?;
    let images = Images::from_env_file(&read(dir.join(".env"))?)
        .map_err(|e| LaunchError::Runtime(format!("{}: {e}", dir.join(".env").display())))?;
    let files = base(
        manifest,
        &Inputs {
            manifest_text: &manifest_text,
            flags: &flags,
            collector: &collector,
            images,
        },
    );
    let io = |what: &str, path: &std::path::Path, e: std::io::Error| {
        LaunchError::Runtime(format!("cannot {what} {}: {e}", path.display()))
    };
    std::fs::create_dir_all(out).map_err(|e| io("create", out, e))?;
    // A service removed from the manifest loses its file: drop what an export wrote before.
    for entry in std::fs::read_dir(out).map_err(|e| io("read", out, e))? {
        let path = entry.map_err(|e| io("read", out, e))?.path();
        if std::fs::read_to_string(&path).is_ok_and(|t| t.starts_with(HEADER)) {
            std::fs::remove_file(&path).map_err(|e| io("remove", &path, e))?;
        }
    }
    for (name, text) in &files {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| io("write", &path, e))?;
    }
    println!("wrote {} files into {}", files.len(), out.display());
    Ok(())
}

pub async fn run(cli: cli::Cli) -> ExitCode {
    let result = match cli.command {
        cli::Command::Up(args) => up::up(args).await,
        cli::Command::Services(args) => up::list_services(&args),
        cli::Command::Load(args) => load(args),
        cli::Command::Fault(args) => control::fault(args).await,
        cli::Command::Drill(args) => control::drill(args).await,
        cli::Command::Export(args) => export(&args),
        cli::Command::Scale(args) => control::scale(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            output::launcher_error(&err.to_string());
            ExitCode::from(err.exit_code())
        }
    }
}

/// `apiary load ...`: becomes the `apiary-load` process (same arguments, same terminal).
fn load(args: cli::LoadArgs) -> Result<(), LaunchError> {
    use std::os::unix::process::CommandExt as _;
    let dir = match args.bin_dir {
        Some(dir) => dir,
        None => plan::default_bin_dir()?,
    };
    let binary = dir.join("apiary-load");
    if !binary.is_file() {
        return Err(LaunchError::MissingBinary {
            service: "load".into(),
            path: binary.display().to_string(),
        });
    }
    // `exec` only returns on failure.
    let err = std::process::Command::new(&binary).args(&args.args).exec();
    Err(LaunchError::Runtime(format!(
        "cannot run {}: {err}",
        binary.display()
    )))
}

/// Everything that stops the launcher.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Manifest(#[from] apiary_manifest::ManifestError),
    #[error(
        "binary for '{service}' not found at {path}; build it with `cargo build --release --workspace` or pass --bin-dir"
    )]
    MissingBinary { service: String, path: String },
    #[error("port {port} for '{service}' is already in use (is another stack running?): {reason}")]
    PortInUse {
        service: String,
        port: u16,
        reason: String,
    },
    #[error(
        "the manifest's [broker] needs RabbitMQ's rabbitmq-server, which is not installed: install it (apt-get install rabbitmq-server; the scripts do), set [broker] url to an existing broker, or pass --no-broker"
    )]
    NoBrokerServer,
    #[error("{0}")]
    Usage(String),
    #[error("not ready after {seconds}s: {services}")]
    NotReady { seconds: u64, services: String },
    #[error("{0}")]
    Runtime(String),
}

impl LaunchError {
    pub fn exit_code(&self) -> u8 {
        match self {
            LaunchError::NotReady { .. } | LaunchError::Runtime(_) => 1,
            _ => EXIT_USAGE,
        }
    }
}
