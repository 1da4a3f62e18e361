//! `apiary-ui-build`: the dashboard UI's hydration bundle, built inside the workspace.
//!
//! `cargo leptos build --release --frontend-only --precompress` did this job, but installing
//! cargo-leptos compiles its own copy of swc, gix and friends: 11-20 minutes on two cores
//! before a first run could start. This task does the same steps with the library half of
//! wasm-bindgen (the crate the `wasm-bindgen` CLI and cargo-leptos both call), reading the same
//! `[[workspace.metadata.leptos]]` table, so `cargo leptos watch` keeps working for people who
//! have it:
//!
//! 1. `cargo build` the lib package for `wasm32-unknown-unknown` with its profile and features;
//! 2. wasm-bindgen's web glue, `pkg/<output-name>.js`;
//! 3. `wasm-opt` (binaryen, from `PATH` or `$WASM_OPT`) with the table's flags, to
//!    `pkg/<output-name>.wasm`;
//! 4. the style file to `pkg/<output-name>.css` and the assets directory to the site root;
//! 5. a `.gz` and a `.br` twin of every file, which the dashboard sends to browsers accepting
//!    them.

use std::process::ExitCode;

use clap::Parser;

mod bundle;
mod config;
mod precompress;

/// Builds the dashboard UI bundle (wasm + JS + CSS + assets, precompressed) into the site root
/// named by `[[workspace.metadata.leptos]]` (target/site).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The workspace's Cargo.toml (default: the one cargo finds from the current directory).
    #[arg(long)]
    manifest_path: Option<std::path::PathBuf>,
    /// Skip wasm-opt (a debugging aid: the bundle is then about twice the size).
    #[arg(long)]
    no_wasm_opt: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let started = std::time::Instant::now();
    let result = config::Project::load(args.manifest_path.as_deref()).and_then(|project| {
        let report = bundle::build(&project, !args.no_wasm_opt)?;
        Ok((project, report))
    });
    match result {
        Ok((project, report)) => {
            println!(
                "apiary-ui-build: {} files into {} in {:.1} s (wasm {} KiB, brotli {} KiB{})",
                report.files,
                project.site_root.display(),
                started.elapsed().as_secs_f64(),
                report.wasm_bytes / 1024,
                report.wasm_br_bytes / 1024,
                if report.reused_wasm {
                    "; unchanged, kept"
                } else {
                    ""
                },
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("apiary-ui-build: {err:#}");
            ExitCode::FAILURE
        }
    }
}
