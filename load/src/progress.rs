//! The live progress line: rate, p50/p99 and errors of the last second, journeys in flight.
//! An indicatif bar on a terminal; a log line every 10 s otherwise (so `apiary up`'s
//! interleaved output stays readable); nothing with `--quiet`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::{Controller, RunState};
use crate::stats::Point;

fn line(p: &Point, c: &Controller) -> String {
    let totals = c.recorder().totals();
    format!(
        "{:.0} req/s | {} journeys/s (target {:.1}) | p50 {:.1} ms p99 {:.1} ms | errors {} | in flight {} | not started {}",
        p.requests,
        p.journeys_started,
        p.offered_rate,
        p.p50_ms,
        p.p99_ms,
        totals.errors,
        totals.journeys_in_flight,
        totals.journeys_not_started
    )
}

/// Follows the controller's ticks until the run ends.
pub fn spawn(
    controller: Arc<Controller>,
    duration: Option<Duration>,
    quiet: bool,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if quiet {
            return;
        }
        let mut ticks = controller.ticks();
        if !std::io::stderr().is_terminal() {
            let mut n = 0u64;
            while ticks.changed().await.is_ok() {
                n += 1;
                if n.is_multiple_of(10)
                    && let Some(p) = ticks.borrow_and_update().clone()
                {
                    tracing::info!("{}", line(&p, &controller));
                }
                if controller.state() == RunState::Finished {
                    break;
                }
            }
            return;
        }
        let bar = match duration {
            Some(d) => {
                let bar = ProgressBar::new(d.as_secs().max(1));
                bar.set_style(
                    ProgressStyle::with_template("{elapsed_precise} [{bar:24}] {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar
            }
            None => {
                let bar = ProgressBar::new_spinner();
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar
            }
        };
        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
        bar.set_message("starting…");
        while ticks.changed().await.is_ok() {
            let p = ticks.borrow_and_update().clone();
            if let Some(p) = p {
                bar.set_position(p.t as u64);
                bar.set_message(line(&p, &controller));
            }
            bar.tick();
            if controller.state() == RunState::Finished {
                break;
            }
        }
        bar.finish_and_clear();
    })
}
