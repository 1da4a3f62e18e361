//! The command line: `apiary-load [OPTIONS]` (what `apiary load ...` runs), plus the
//! `bench-server` and `validate` helpers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::profile::Arrival;
use crate::shape::RateShape;
use crate::units::{InvalidValue, RunLength, parse_duration};

/// Default control address: loopback, a port next to the dashboard's 8080.
pub const DEFAULT_CONTROL: &str = "127.0.0.1:8089";

#[derive(Debug, Parser)]
#[command(
    name = "apiary-load",
    version,
    about = "Shopper journeys against the Apiary gateway at an open-model arrival rate, with latency corrected for coordinated omission and live control over HTTP.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a static `ok` on every path (optionally stalling), for benchmarks and tests.
    BenchServer(BenchServerArgs),
    /// Check a profile file and exit (status 2 with the line and column of the first problem).
    Validate {
        /// The profile file.
        profile: PathBuf,
    },
}

#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// The gateway's base URL. Anything not on this machine is refused without --allow-remote.
    #[arg(
        long,
        env = "APIARY_LOAD_TARGET",
        default_value = "http://127.0.0.1:8000"
    )]
    pub target: String,

    /// Profile file (TOML) with the weighted journeys; default: the built-in shop profile
    /// (load/profiles/shop.toml).
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,

    /// Journeys started per second (a constant rate); overrides the profile's [run].
    #[arg(long, value_name = "RATE", conflicts_with = "shape", value_parser = parse_rate)]
    pub rate: Option<RateShape>,

    /// Rate shape: constant:R, ramp:FROM:TO:OVER, step:START:BY:EVERY[:MAX], spike:BASE:PEAK:AT:FOR.
    #[arg(long, value_name = "SHAPE")]
    pub shape: Option<RateShape>,

    /// How arrivals are spread: uniform (evenly spaced) or poisson (default: the profile's, else uniform).
    #[arg(long, value_enum)]
    pub arrival: Option<Arrival>,

    /// How long the run lasts (e.g. 30s, 10m), or `forever` (stop it over the control API or with Ctrl-C).
    #[arg(long, default_value = "60s")]
    pub duration: RunLength,

    /// Closed-loop comparison mode: N virtual users, each starting its next journey as soon as
    /// the last one ended. Latency is then timed from each send (uncorrected): for showing
    /// coordinated omission beside the default open model, not for measuring.
    #[arg(long, value_name = "N", conflicts_with_all = ["rate", "shape"], value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub closed_loop: Option<u32>,

    /// Journeys under way at most; a journey due beyond this is not started (and counted).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_in_flight: u32,

    /// Concurrent connections at most (default: as many as in-flight requests need).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub connections: Option<u32>,

    /// Per-request timeout (waiting for a connection included).
    #[arg(long, default_value = "10s", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Seed for every random choice (journeys, products, think times, arrivals); printed in
    /// the summary so a run can be repeated. Default: random.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Control API address (loopback by default), or `off`.
    #[arg(long, value_name = "ADDR|off")]
    pub control: Option<ControlAddr>,

    /// Allow a target that is not this machine.
    #[arg(long)]
    pub allow_remote: bool,

    /// No progress bar and no start-up banner (the progress bar is also off when stderr is not a terminal).
    #[arg(long, short)]
    pub quiet: bool,

    /// Write the results (summary, per-step and per-journey stats, per-second series) as JSON.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write a latency-over-time plot (self-contained SVG).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,

    /// No spans and no `traceparent` (the `baggage` header stays): for throughput benchmarks.
    /// `OTEL_SDK_DISABLED=true` has the same effect.
    #[arg(long)]
    pub no_trace: bool,

    /// Runtime worker threads (default: the CPUs this process may use; 1 runs single-threaded).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
}

#[derive(Debug, Clone, Args)]
pub struct BenchServerArgs {
    /// Address to listen on (loopback only unless it is the unspecified address on purpose).
    #[arg(long, default_value = "127.0.0.1:9099")]
    pub listen: SocketAddr,
    /// Stall every so often (e.g. 1s); with --stall-for.
    #[arg(long, value_parser = parse_duration, requires = "stall_for")]
    pub stall_every: Option<Duration>,
    /// How long each stall lasts (e.g. 100ms).
    #[arg(long, value_parser = parse_duration)]
    pub stall_for: Option<Duration>,
    /// Runtime worker threads (default 1).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: u16,
}

/// `--control ADDR` or `--control off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlAddr {
    Off,
    At(SocketAddr),
}

impl FromStr for ControlAddr {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        if s == "off" {
            return Ok(ControlAddr::Off);
        }
        s.parse()
            .map(ControlAddr::At)
            .map_err(|_| InvalidValue::NotAddress(s.to_owned()))
    }
}

fn parse_rate(s: &str) -> Result<RateShape, InvalidValue> {
    s.parse::<f64>()
        .map_err(|_| InvalidValue::NotRate(s.to_owned()))?;
    s.parse()
}

fn parse_timeout(s: &str) -> Result<Duration, InvalidValue> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(InvalidValue::EmptyTimeout);
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_parses_its_documented_forms() {
        let cli = Cli::try_parse_from([
            "apiary-load",
            "--rate",
            "20",
            "--duration",
            "forever",
            "--control",
            "off",
            "--seed",
            "7",
        ]);
        let cli = cli.map_err(|e| e.to_string());
        let Ok(cli) = cli else { panic!("{cli:?}") };
        assert_eq!(cli.load.rate, Some(RateShape::Constant { rate: 20.0 }));
        assert_eq!(cli.load.duration, RunLength::Forever);
        assert_eq!(cli.load.control, Some(ControlAddr::Off));
        assert!(Cli::try_parse_from(["apiary-load", "--rate", "5", "--shape", "10"]).is_err());
        assert!(Cli::try_parse_from(["apiary-load", "--rate", "ramp:1:2:3s"]).is_err());
        assert!(Cli::try_parse_from(["apiary-load", "--timeout", "0"]).is_err());
        let bench = Cli::try_parse_from([
            "apiary-load",
            "bench-server",
            "--stall-every",
            "1s",
            "--stall-for",
            "100ms",
        ]);
        assert!(matches!(
            bench.map(|c| c.command),
            Ok(Some(Command::BenchServer(_)))
        ));
    }
}
