//! `apiary-shop <service>`: the storefront's ten services in one executable.
//!
//! Each service is still its own crate with its own binary (what the compose and Kubernetes
//! paths run). On one machine, though, ten copies of the same tokio, hyper, axum and
//! OpenTelemetry code are most of the stack's memory: a service's resident code is ~8 MiB of
//! its ~12 MiB, and pages of ten different files are never shared. Ten processes of this one
//! file share them. `apiary up` uses it when it is built, each process still one service:
//! the same `run_service` shape, its own environment, its own supervision and restarts.
//!
//! `apiary-shop --list` prints the services it holds, one per line (what the launcher asks).

use std::process::ExitCode;

/// Exit code for a usage error (EX_USAGE).
const USAGE: u8 = 64;

macro_rules! services {
    ($($krate:ident),+ $(,)?) => {
        /// The service names this binary runs.
        const SERVICES: &[&str] = &[$($krate::SERVICE.name),+];

        /// Runs the named service to the end; `None` if it is not one of ours.
        fn run(name: &str) -> Option<ExitCode> {
            $(
                if name == $krate::SERVICE.name {
                    // The command line was this binary's (`apiary-shop <service>`).
                    return Some(runtime().block_on(apiary_chassis::server::run_service_with(
                        $krate::SERVICE,
                        $krate::Config::from_env(),
                        $krate::build,
                    )));
                }
            )+
            None
        }
    };
}

services!(
    gateway,
    catalog,
    cart,
    checkout,
    inventory,
    payment,
    shipping,
    reviews,
    recommendations,
    orders,
    notifications,
);

/// The runtime each service's own `#[tokio::main]` would build.
fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("apiary-shop: cannot start the async runtime: {e}");
            std::process::exit(70);
        }
    }
}

fn usage() -> String {
    format!(
        "usage: apiary-shop <service> | --list\nservices: {}",
        SERVICES.join(", ")
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match args.as_slice() {
        [flag] if flag == "--list" => {
            for name in SERVICES {
                println!("{name}");
            }
            ExitCode::SUCCESS
        }
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{}", usage());
            ExitCode::SUCCESS
        }
        [name] => run(name).unwrap_or_else(|| {
            eprintln!("apiary-shop: no service named '{name}'\n{}", usage());
            ExitCode::from(USAGE)
        }),
        _ => {
            eprintln!("apiary-shop: {}", usage());
            ExitCode::from(USAGE)
        }
    }
}
