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
    /// Turn faults on and off through the dashboard (`apiary fault set latency service=payment ms=800 --ttl 120`).
    Fault(FaultArgs),
    /// List, run and stop drills; read their reports.
    Drill(DrillArgs),
    /// Change how many instances of a service the running stack has (`apiary scale catalog=3`),
    /// through the dashboard's control plane; with no argument, list every service's instances.
    Scale(ScaleArgs),
    /// Print a file written from the manifest (`apiary export prometheus-config > prometheus/prometheus.yml`).
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(subcommand)]
    pub what: Export,
}

#[derive(Debug, Subcommand)]
pub enum Export {
    /// Prometheus's scrape configuration: a job per service, the dashboard, the collector and
    /// the broker; for compose (prometheus/prometheus.yml), or with --local for the stack
    /// `apiary up` runs on this machine.
    PrometheusConfig {
        /// Targets on this machine (the manifest's host and ports) instead of compose's.
        #[arg(long)]
        local: bool,
    },
    /// The per-service SLO objectives as Prometheus recording rules
    /// (prometheus/rules/slo-objectives.rules.yml).
    SloRules,
    /// The Kubernetes base (kustomize) for this stack into a directory (deploy/k8s/base):
    /// workloads, headless Services, probes, autoscalers, disruption budgets, ConfigMaps and
    /// NetworkPolicies from the manifest's `depends_on`. Reads the flag file, the collector's
    /// configuration (otel/collector.yaml) and the image pins (.env) beside the manifest.
    Kubernetes {
        /// The directory to write (its generated files are replaced).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// Where the control API is and how to authenticate.
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// The stack manifest (default: $APIARY_MANIFEST, else the nearest apiary.toml upwards).
    #[arg(long, value_name = "PATH", global = true)]
    pub manifest: Option<PathBuf>,

    /// The dashboard's base URL (default: from the manifest).
    #[arg(long, value_name = "URL", global = true)]
    pub dashboard: Option<String>,

    /// Where the stack keeps its data (and the control token); default: the manifest's.
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ScaleArgs {
    #[command(flatten)]
    pub control: ControlArgs,
    /// SERVICE=REPLICAS (e.g. catalog=3); several at once are applied in turn.
    #[arg(value_name = "SERVICE=N")]
    pub targets: Vec<String>,
    /// Why, for the audit log.
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct FaultArgs {
    #[command(flatten)]
    pub control: ControlArgs,
    #[command(subcommand)]
    pub command: FaultCommand,
}

#[derive(Debug, Subcommand)]
pub enum FaultCommand {
    /// The active faults and the kinds there are.
    List,
    /// Turn a fault on: KIND then KEY=VALUE pairs (e.g. `latency service=payment ms=800`).
    Set {
        /// error-rate, latency, hang, cpu-burn, memory-leak, failing-readiness, crash, slow-store,
        /// cart-store-lost, targeted-failure, bad-deploy, unreachable, partition, retry-storm,
        /// traffic-spike, consumer-slow, consumer-crash, poison-message, broker-down,
        /// duplicate-delivery.
        kind: String,
        #[arg(value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// Time-to-live in seconds (required: the dashboard refuses a fault without one).
        #[arg(long, value_name = "SECS")]
        ttl: Option<u64>,
        /// Why, for the audit log.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Turn one fault off.
    Clear { id: String },
    /// Turn every fault off.
    Reset,
    /// Recent entries of the audit log.
    Audit {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print the flag file with every fault off, for this manifest (flagd format).
    Flags,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    #[command(flatten)]
    pub control: ControlArgs,
    #[command(subcommand)]
    pub command: DrillCommand,
}

#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// The drills there are.
    List,
    /// One drill: narrative, hypothesis, schedule, symptom.
    Show { name: String },
    /// Run a drill and follow it; exits 0 when it passes (symptom seen, recovery seen).
    Run {
        name: String,
        /// Multiply the steady state and the schedule by this (0.05 to 1; for rehearsals).
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        /// Start it and return at once.
        #[arg(long)]
        detach: bool,
    },
    /// Stop a running drill (its faults are rolled back).
    Stop { id: String },
    /// A run's report (default: the latest).
    Report { id: Option<String> },
    /// Random faults from an allowed set, seeded for repeatability.
    Gameday {
        #[arg(long)]
        seed: u64,
        /// Seconds of faults.
        #[arg(long, default_value_t = 120.0)]
        duration: f64,
        /// Between fault starts, MIN..MAX seconds.
        #[arg(long, default_value = "20..40")]
        interval: String,
        /// Each fault's duration, MIN..MAX seconds.
        #[arg(long, default_value = "10..20")]
        fault_duration: String,
        /// An allowed fault, as for `fault set` (`"latency service=payment ms=800"`); repeat.
        #[arg(long = "allow", value_name = "FAULT", required = true)]
        allowed: Vec<String>,
        #[arg(long)]
        detach: bool,
    },
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
    #[arg(long, value_name = "PATH", global = true)]
    pub manifest: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,

    /// Start only these services (and what they depend on). Comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    pub only: Vec<String>,

    /// Run more instances of a service that keeps no state: SERVICE=REPLICAS, comma-separated
    /// or repeated (`--scale catalog=3,gateway=2`); overrides the manifest's `replicas`.
    #[arg(long, value_delimiter = ',', value_name = "SERVICE=N")]
    pub scale: Vec<String>,

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

    /// Start no message broker even if the manifest has a `[broker]` section: order events
    /// then wait in the orders outbox.
    #[arg(long)]
    pub no_broker: bool,

    /// Run each service from its own binary even when the storefront's multi-call binary
    /// (`apiary-shop`, which lets the ten processes share one copy of their code in memory) is
    /// built next to them.
    #[arg(long)]
    pub separate_binaries: bool,

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
