//! `apiary`: parse the command line, run it, exit with its code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = apiary::cli::Cli::parse();
    // One thread: children are forked from it, and it lives as long as the process, so the
    // kernel's parent-death signal (which fires when the forking *thread* exits) only fires
    // when the launcher itself is gone.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("apiary: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(apiary::run(cli))
}
