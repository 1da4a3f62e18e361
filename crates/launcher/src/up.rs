//! `apiary up` and `apiary services`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

use crate::LaunchError;
use crate::cli::{ManifestArgs, UpArgs};
use crate::fleet::{self, Fleet};
use crate::output;
use crate::plan::{self, LaunchPlan, PlannedService};
use crate::supervisor::{self, StopMode, Supervised};

struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    fn install() -> Result<Self, LaunchError> {
        let err =
            |e: std::io::Error| LaunchError::Runtime(format!("cannot listen for signals: {e}"));
        Ok(Self {
            int: signal(SignalKind::interrupt()).map_err(err)?,
            term: signal(SignalKind::terminate()).map_err(err)?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}

pub async fn up(args: UpArgs) -> Result<(), LaunchError> {
    let plan = plan::plan(&args)?;
    plan.control.write()?;
    // Listen before starting anything, so an early Ctrl-C still stops every child.
    let mut signals = Signals::install()?;
    output::set_name_width(
        plan.services
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(0),
    );
    output::launcher(&format!(
        "starting {} service(s) from {}",
        plan.services.len(),
        plan.manifest_path.display()
    ));

    let (stop_tx, stop_rx) = watch::channel(StopMode::Running);
    let stop_timeout = Duration::from_secs(args.stop_timeout);
    // The broker first: it takes longest to boot. Nothing waits for it — services serve without
    // it (order events wait in the outbox) — so its readiness is announced on its own.
    let mut supervised: Vec<Supervised> = Vec::new();
    let mut broker_ready = None;
    if let Some(broker) = &plan.broker {
        supervised.push(supervisor::supervise(
            broker.process.clone(),
            stop_rx.clone(),
            stop_timeout,
        ));
        let process = broker.process.clone();
        let address = broker.address();
        let ready_timeout = Duration::from_secs(args.ready_timeout.max(120));
        broker_ready = Some(tokio::spawn(async move {
            let started = Instant::now();
            match wait_until_ready(std::slice::from_ref(&process), ready_timeout).await {
                Ok(()) => output::launcher(&format!(
                    "the broker accepts AMQP at {address} ({:.1} s after start)",
                    started.elapsed().as_secs_f64()
                )),
                Err(err) => output::launcher(&format!("the broker is not ready: {err}")),
            }
        }));
    }
    // The services' instances are the fleet's (they can be scaled live); the dashboard calls
    // the fleet's control API.
    let fleet = Arc::new(Fleet::new(
        &plan.manifest,
        &plan.control.data_dir,
        stop_timeout,
        stop_rx.clone(),
    ));
    let control_url = fleet::serve(
        fleet.clone(),
        &plan.manifest.stack.host,
        &plan.control.token,
    )
    .await
    .map_err(|e| LaunchError::Runtime(format!("cannot serve the launcher's control API: {e}")))?;
    let (members, others): (Vec<PlannedService>, Vec<PlannedService>) = plan
        .services
        .iter()
        .cloned()
        .partition(|s| plan.manifest.service(&s.service).is_ok());
    for mut s in others {
        if s.name == "dashboard" {
            s.env
                .push((fleet::LAUNCHER_URL_VAR.to_owned(), control_url.clone()));
        }
        supervised.push(supervisor::supervise(s, stop_rx.clone(), stop_timeout));
    }
    fleet.start(&plan.manifest, &members).await.map_err(|e| {
        LaunchError::Runtime(format!(
            "cannot write the endpoints files in {}: {e}",
            plan.control.data_dir.display()
        ))
    })?;

    let ready_timeout = Duration::from_secs(args.ready_timeout);
    let outcome = tokio::select! {
        ready = wait_until_ready(&plan.services, ready_timeout) => ready,
        sig = signals.next() => {
            output::launcher(&format!("{sig} received during start-up"));
            Ok(())
        }
    };
    let result = match outcome {
        Ok(()) if *stop_tx.borrow() == StopMode::Running && all_started(&supervised) => {
            // Shoppers arrive once the shop is open.
            if let Some(load) = &plan.load {
                supervised.push(supervisor::supervise(
                    load.clone(),
                    stop_rx.clone(),
                    stop_timeout,
                ));
                if let Err(err) = wait_until_ready(std::slice::from_ref(load), ready_timeout).await
                {
                    output::launcher(&format!("the load generator is not ready: {err}"));
                }
            }
            print_table(&plan);
            let sig = signals.next().await;
            output::launcher(&format!("{sig} received"));
            Ok(())
        }
        other => other,
    };

    output::launcher("stopping every service (Ctrl-C again to kill at once)");
    let _ = stop_tx.send(StopMode::Graceful);
    supervised.extend(fleet.drain().await);
    let mut all = std::pin::pin!(futures_join(supervised));
    tokio::select! {
        () = &mut all => {}
        sig = signals.next() => {
            output::launcher(&format!("{sig} received again: killing"));
            let _ = stop_tx.send(StopMode::Kill);
            all.await;
        }
    }
    if let Some(waiting) = broker_ready {
        waiting.abort();
    }
    if let Some(broker) = &plan.broker {
        stop_port_mapper(broker.epmd_port).await;
    }
    output::launcher("all services stopped");
    result
}

/// The broker's Erlang port mapper is a daemon that outlives the node; stop it with the stack
/// (it is the stack's own, on its own port).
async fn stop_port_mapper(port: u16) {
    let stopped = tokio::process::Command::new("epmd")
        .args(["-port", &port.to_string(), "-kill"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await;
    if stopped.is_err() {
        output::launcher(&format!(
            "could not stop the broker's port mapper on port {port}"
        ));
    }
}

fn all_started(supervised: &[Supervised]) -> bool {
    supervised.iter().all(|s| !s.task.is_finished())
}

async fn futures_join(supervised: Vec<Supervised>) {
    for s in supervised {
        let _ = s.task.await;
    }
}

/// Polls every service's `/health/ready` until all answer 200 or the timeout passes; the error
/// names the services that are not ready and why.
async fn wait_until_ready(
    services: &[PlannedService],
    timeout: Duration,
) -> Result<(), LaunchError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .map_err(|e| LaunchError::Runtime(format!("cannot build an HTTP client: {e}")))?;
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<(&PlannedService, NotReady)> =
        services.iter().map(|s| (s, NotReady::NotStarted)).collect();
    loop {
        let mut still = Vec::new();
        for (service, _) in pending {
            match probe(&client, service).await {
                // A process with its own probe (the broker) is announced by whoever waits for it.
                Ok(()) if service.ready_url.is_some() => {}
                Ok(()) => {
                    output::launcher(&format!("{} is ready at {}", service.name, service.url()))
                }
                Err(reason) => still.push((service, reason)),
            }
        }
        if still.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let services = still
                .iter()
                .map(|(s, reason)| format!("{} ({reason})", s.name))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(LaunchError::NotReady {
                seconds: timeout.as_secs(),
                services,
            });
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Why a service is not ready yet (what the launcher prints when it gives up waiting).
#[derive(Debug, thiserror::Error)]
enum NotReady {
    #[error("not started")]
    NotStarted,
    #[error("not listening")]
    NotListening,
    #[error(transparent)]
    Probe(reqwest::Error),
    #[error("{status}: {failed}")]
    Answered {
        status: reqwest::StatusCode,
        failed: String,
    },
}

async fn probe(client: &reqwest::Client, service: &PlannedService) -> Result<(), NotReady> {
    let url = service
        .ready_url
        .clone()
        .unwrap_or_else(|| format!("{}/health/ready", service.url()));
    let resp = client.get(url).send().await.map_err(|e| {
        if e.is_connect() {
            NotReady::NotListening
        } else {
            NotReady::Probe(e)
        }
    })?;
    if resp.status().is_success() {
        return Ok(());
    }
    let status = resp.status();
    let failed = resp
        .json::<ReadyBody>()
        .await
        .map(|r| r.failed.join(", "))
        .unwrap_or_default();
    Err(NotReady::Answered { status, failed })
}

/// Just enough of the readiness body to say which checks failed.
#[derive(Debug, serde::Deserialize)]
struct ReadyBody {
    #[serde(default)]
    failed: Vec<String>,
}

fn print_table(plan: &LaunchPlan) {
    let width = plan
        .services
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut lines = vec![format!("{:<width$}  {}", "service", "url")];
    for s in &plan.services {
        lines.push(format!("{:<width$}  {}", s.name, s.url()));
    }
    if let Some(load) = &plan.load {
        lines.push(format!(
            "{:<width$}  {} (control API; shoppers -> {})",
            load.name,
            load.url(),
            load.args.get(1).map_or("?", String::as_str)
        ));
    }
    if let Some(broker) = &plan.broker {
        lines.push(format!(
            "{:<width$}  {} (metrics {})",
            "broker",
            broker.address(),
            broker.process.ready_url.as_deref().unwrap_or("-")
        ));
    }
    lines.push(format!("{:<width$}  {}", "otlp", plan.otlp_endpoint));
    output::launcher("every service is ready:");
    for line in lines {
        output::launcher(&format!("  {line}"));
    }
    output::launcher("press Ctrl-C to stop");
}

pub fn list_services(args: &ManifestArgs) -> Result<(), LaunchError> {
    let (_, manifest) = plan::load_manifest(args)?;
    let width = manifest
        .services
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let (service, port, deps) = ("service", "port", "depends on");
    println!("{service:<width$}  {port:<5}  {deps:<24}  description");
    for s in manifest.start_order() {
        let deps = if s.depends_on.is_empty() {
            "-".to_owned()
        } else {
            s.depends_on.join(",")
        };
        println!(
            "{:<width$}  {:<5}  {:<24}  {}",
            s.name, s.port, deps, s.description
        );
    }
    Ok(())
}
