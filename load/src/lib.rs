//! Apiary's load generator: weighted shopper journeys against the gateway's JSON API, started
//! at an open-model arrival rate, with latency measured from each request's intended start
//! (corrected for coordinated omission) and live control over HTTP.
//!
//! # Layout
//! - [`cli`] — the command line (`apiary load ...` runs [`main_from`] with the same arguments);
//!   [`run`] is the async entry for a caller that already has a runtime.
//! - [`profile`] — the profile file: journeys, steps, think times, weights; errors name the
//!   line and column. [`units`] and [`shape`] — durations, ranges and rate shapes.
//! - [`target`] — the target URL, resolved once; non-local targets refused by default.
//! - [`engine`] — [`engine::Run`]: the open-model scheduler, the in-flight cap, the ticker, and
//!   the [`engine::Controller`] that changes rate, profile, pause and stop while it runs.
//! - [`journey`] — one shopper session against the gateway (root span, baggage, think times).
//! - [`timing`] — the timer slack and the stop signal the scheduler and journeys both wait by.
//! - [`client`] — the HTTP/1.1 keep-alive connection pool on hyper.
//! - [`stats`] — HdrHistograms per step and journey, error classes, the per-second series,
//!   and the `apiary_load_*` Prometheus metrics.
//! - [`control`] — the control API (bearer token, JSON only, loopback), `/status`, `/metrics`.
//! - [`progress`], [`report`] — the progress line, the summary table, `--output` JSON and the
//!   `--plot` SVG.
//! - [`bench_server`] — the static (optionally stalling) server for benchmarks and tests.

pub mod bench_server;
pub mod cli;
pub mod client;
pub mod control;
pub mod engine;
pub mod journey;
pub mod profile;
pub mod progress;
pub mod report;
pub mod shape;
pub mod stats;
pub mod target;
pub mod timing;
pub mod units;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{BenchServerArgs, Cli, Command, ControlAddr, DEFAULT_CONTROL, LoadArgs};
use crate::control::Token;
use crate::engine::{Run, RunConfig};
use crate::profile::{Arrival, Profile};
use crate::shape::RateShape;

/// Who this process is, for telemetry (`service.name=load`).
pub const SERVICE: apiary_telemetry::ServiceInfo = apiary_telemetry::ServiceInfo {
    name: "load",
    version: env!("CARGO_PKG_VERSION"),
};

/// The rate when neither the command line nor the profile gives one: gentle, for a demo.
pub const DEFAULT_RATE: f64 = 5.0;

/// Parses `argv` (program name first), builds the runtime (`--threads`) and runs. What the
/// binary's `main` is, and what `apiary load ...` delegates to.
pub fn main_from<I, T>(argv: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::parse_from(argv);
    let threads = match &cli.command {
        Some(Command::BenchServer(a)) => Some(a.threads),
        Some(Command::Validate { .. }) => Some(1),
        None => cli.load.threads,
    };
    let runtime = match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(n))
            .enable_all()
            .build(),
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("apiary load: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Some(Command::BenchServer(args)) => bench_server(args).await,
            Some(Command::Validate { profile }) => validate(&profile),
            None => run(cli.load).await,
        }
    })
}

fn validate(path: &std::path::Path) -> ExitCode {
    match Profile::load(path) {
        Ok(p) => {
            println!(
                "{}: ok, {} journeys ({})",
                p.origin,
                p.journeys.len(),
                p.journeys
                    .iter()
                    .map(|j| format!("{} x{}", j.name, j.weight))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

async fn bench_server(args: BenchServerArgs) -> ExitCode {
    apiary_chassis::server::bind_lifetime_to_supervisor();
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("apiary-load bench-server: cannot bind {}: {e}", args.listen);
            return ExitCode::from(2);
        }
    };
    let stall = bench_server::Stall {
        every: args.stall_every,
        duration: args.stall_for.unwrap_or_default(),
    };
    eprintln!(
        "bench-server on http://{}{}",
        listener.local_addr().map_or(args.listen, |a| a),
        match stall.every {
            Some(every) => format!(
                ", stalling {} every {}",
                units::format_duration(stall.duration),
                units::format_duration(every)
            ),
            None => String::new(),
        }
    );
    match bench_server::serve(listener, stall, apiary_chassis::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("apiary-load bench-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the load described by `args` to the end: the summary table on stdout, `--output` and
/// `--plot` files. Exit status 0 when the run took place, 1 when it could not (the gateway
/// never answered, a file could not be written), 2 for a usage error (profile, target, flags).
pub async fn run(args: LoadArgs) -> ExitCode {
    apiary_chassis::server::bind_lifetime_to_supervisor();
    let profile = match &args.profile {
        Some(path) => Profile::load(path),
        None => Profile::builtin_shop(),
    };
    let profile = match profile {
        Ok(p) => p,
        Err(e) => {
            eprintln!("apiary load: invalid profile\n{e}");
            return ExitCode::from(2);
        }
    };
    let target = match target::resolve(&args.target, args.allow_remote).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("apiary load: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    let sdk_disabled =
        apiary_telemetry::TelemetryConfig::from_env(&apiary_chassis::env::ProcessEnv)
            .map(|c| c.sdk_disabled);
    let telemetry = if args.no_trace {
        apiary_telemetry::init_console_only()
    } else {
        apiary_telemetry::init(SERVICE)
    };
    let telemetry = match (telemetry, sdk_disabled.as_ref()) {
        (Ok(t), Ok(_)) => t,
        (Err(e), _) => {
            eprintln!("apiary load: {e}");
            return ExitCode::from(2);
        }
        (_, Err(e)) => {
            eprintln!("apiary load: {e}");
            return ExitCode::from(2);
        }
    };
    let tracing_on = !args.no_trace && !matches!(sdk_disabled, Ok(true));

    let config = RunConfig {
        target,
        shape: args
            .shape
            .or(args.rate)
            .or(profile.run.shape)
            .unwrap_or(RateShape::Constant { rate: DEFAULT_RATE }),
        arrival: args
            .arrival
            .or(profile.run.arrival)
            .unwrap_or(Arrival::Uniform),
        profile,
        duration: args.duration,
        max_in_flight: args.max_in_flight as usize,
        connections: args.connections.map(|c| c as usize),
        timeout: args.timeout,
        seed: args
            .seed
            .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0),
        tracing: tracing_on,
        closed_loop: args.closed_loop.map(|n| n as usize),
    };
    let code = run_with(config, &args).await;
    telemetry.shutdown().await;
    code
}

async fn run_with(config: RunConfig, args: &LoadArgs) -> ExitCode {
    let (token, generated) = Token::from_env_or_random();
    let (control_addr, fallback) = match args.control {
        Some(ControlAddr::Off) => (None, false),
        Some(ControlAddr::At(addr)) => (Some(addr), false),
        None => (DEFAULT_CONTROL.parse::<SocketAddr>().ok(), true),
    };
    let control = match control_addr {
        Some(addr) => match control::bind(addr, fallback).await {
            Ok(bound) => Some(bound),
            Err(e) => {
                eprintln!(
                    "apiary load: cannot bind the control API on {addr}: {e} (use --control 127.0.0.1:0 for any free port, or --control off)"
                );
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    if let Some((_, addr)) = &control
        && !addr.ip().is_loopback()
    {
        tracing::warn!(%addr, "the control API listens beyond this machine; anyone who can reach it and has the token can steer the load");
    }

    let info = report::RunInfo::of(&config);
    let run = Run::start(config.clone());
    let controller = run.controller();

    let (stop_control, control_stopped) = tokio::sync::oneshot::channel::<()>();
    let control_task = control.map(|(listener, addr)| {
        if !args.quiet {
            eprintln!(
                "apiary load: {} against {} for {} (profile: {}, seed {})",
                info.shape, info.target, info.duration, info.profile, info.seed
            );
            if generated {
                eprintln!(
                    "apiary load: control API on http://{addr} (token {}; set APIARY_LOAD_TOKEN to choose it)",
                    token.expose()
                );
            } else {
                eprintln!("apiary load: control API on http://{addr} (token from APIARY_LOAD_TOKEN)");
            }
        }
        tracing::info!(%addr, "control API listening");
        let controller = controller.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = control_stopped.await;
            };
            if let Err(e) = control::serve(listener, controller, token, shutdown).await {
                tracing::error!(error = %e, "control API stopped");
            }
        })
    });

    let signals = {
        let controller = controller.clone();
        tokio::spawn(async move {
            apiary_chassis::shutdown_signal().await;
            controller.stop();
        })
    };
    let progress = progress::spawn(
        controller.clone(),
        config.duration.as_duration(),
        args.quiet,
    );

    let results = run.wait().await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), progress).await;
    signals.abort();
    let _ = stop_control.send(());
    if let Some(task) = control_task {
        let _ = task.await;
    }

    let results = match results {
        Ok(r) => r,
        Err(e) => {
            eprintln!("apiary load: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", report::summary_table(&info, &results));
    let mut code = ExitCode::SUCCESS;
    if let Some(path) = &args.output {
        let doc = report::Report {
            run: info,
            results: &results,
        };
        let written = serde_json::to_vec_pretty(&doc)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(path, json));
        if let Err(e) = written {
            eprintln!("apiary load: cannot write {}: {e}", path.display());
            code = ExitCode::FAILURE;
        }
    }
    if let Some(path) = &args.plot {
        let svg = report::plot_svg(&report::RunInfo::of(&config), &results);
        if let Err(e) = std::fs::write(path, svg) {
            eprintln!("apiary load: cannot write {}: {e}", path.display());
            code = ExitCode::FAILURE;
        }
    }
    code
}
