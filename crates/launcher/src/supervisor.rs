//! One supervising task per service process.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::output;
use crate::plan::PlannedService;

/// What the launcher wants from its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    Running,
    /// SIGTERM, then SIGKILL after the stop timeout.
    Graceful,
    /// SIGKILL now (a second Ctrl-C).
    Kill,
}

/// A process that ran this long before crashing is considered to have been healthy: its next
/// restart starts the backoff from the beginning again.
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// Restart delay: 0.5 s doubling to at most 30 s.
pub fn backoff(restarts: u32) -> Duration {
    let ms = 500u64.saturating_mul(1u64 << restarts.min(6));
    Duration::from_millis(ms.min(30_000))
}

/// A running supervisor.
#[derive(Debug)]
pub struct Supervised {
    pub name: String,
    /// The current child's pid (0 between restarts).
    pub pid: Arc<AtomicU32>,
    pub task: JoinHandle<()>,
}

pub fn supervise(
    service: PlannedService,
    stop: watch::Receiver<StopMode>,
    stop_timeout: Duration,
) -> Supervised {
    let pid = Arc::new(AtomicU32::new(0));
    let name = service.name.clone();
    let task = tokio::spawn(run(service, stop, stop_timeout, pid.clone()));
    Supervised { name, pid, task }
}

fn spawn(service: &PlannedService) -> std::io::Result<Child> {
    let mut cmd = Command::new(&service.binary);
    if let Some(arg0) = &service.arg0 {
        cmd.arg0(arg0);
    }
    cmd.args(&service.args)
        .envs(service.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: a Ctrl-C in the terminal reaches only the launcher, which then
        // stops the children in order instead of racing them.
        .process_group(0)
        // Last resort if the launcher unwinds without stopping it.
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward(out, service.name.clone(), service.colour));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward(err, service.name.clone(), service.colour));
    }
    Ok(child)
}

async fn forward(stream: impl AsyncRead + Unpin, name: String, colour: usize) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        output::service_line(&name, colour, &line);
    }
}

async fn stop_requested(stop: &mut watch::Receiver<StopMode>) -> StopMode {
    loop {
        let mode = *stop.borrow_and_update();
        if mode != StopMode::Running {
            return mode;
        }
        if stop.changed().await.is_err() {
            // The launcher is gone: stop.
            return StopMode::Graceful;
        }
    }
}

async fn run(
    service: PlannedService,
    mut stop: watch::Receiver<StopMode>,
    stop_timeout: Duration,
    pid_slot: Arc<AtomicU32>,
) {
    let name = service.name.clone();
    let mut restarts: u32 = 0;
    loop {
        let started = Instant::now();
        let outcome = match spawn(&service) {
            Ok(mut child) => {
                let pid = child.id().unwrap_or(0);
                pid_slot.store(pid, Ordering::SeqCst);
                output::launcher(&format!("started {name} (pid {pid})"));
                tokio::select! {
                    status = child.wait() => {
                        pid_slot.store(0, Ordering::SeqCst);
                        match status {
                            Ok(status) => format!("exited ({status})"),
                            Err(err) => format!("could not be waited for ({err})"),
                        }
                    }
                    mode = stop_requested(&mut stop) => {
                        terminate(&name, &mut child, mode, stop_timeout, &mut stop).await;
                        pid_slot.store(0, Ordering::SeqCst);
                        return;
                    }
                }
            }
            Err(err) => format!("could not be started ({err})"),
        };
        if *stop.borrow() != StopMode::Running {
            return;
        }
        if started.elapsed() >= STABLE_AFTER {
            restarts = 0;
        }
        let delay = backoff(restarts);
        restarts = restarts.saturating_add(1);
        output::launcher(&format!(
            "{name} {outcome}; restarting in {:.1}s (restart {restarts})",
            delay.as_secs_f64()
        ));
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stop_requested(&mut stop) => return,
        }
    }
}

/// SIGTERM, wait up to `timeout` (or until told to kill), then SIGKILL.
async fn terminate(
    name: &str,
    child: &mut Child,
    mode: StopMode,
    timeout: Duration,
    stop: &mut watch::Receiver<StopMode>,
) {
    let pid = child.id().and_then(|p| i32::try_from(p).ok());
    if mode == StopMode::Graceful
        && let Some(pid) = pid
    {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        let kill_requested = async {
            loop {
                if *stop.borrow_and_update() == StopMode::Kill || stop.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::select! {
            status = child.wait() => {
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                output::launcher(&format!("{name} stopped ({status})"));
                return;
            }
            () = tokio::time::sleep(timeout) => {
                output::launcher(&format!("{name} did not stop within {}s; killing it", timeout.as_secs()));
            }
            () = kill_requested => {
                output::launcher(&format!("killing {name}"));
            }
        }
    }
    let _ = child.start_kill();
    let status = child
        .wait()
        .await
        .map(|s| s.to_string())
        .unwrap_or_else(|e| e.to_string());
    output::launcher(&format!("{name} killed ({status})"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second_up_to_thirty() {
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(6), Duration::from_secs(30));
        assert_eq!(backoff(60), Duration::from_secs(30));
    }
}
