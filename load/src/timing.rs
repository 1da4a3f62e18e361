//! Waiting during a run, shared by the scheduler ([`crate::engine`]) and the journeys
//! ([`crate::journey`]): how early a timer may wake, and the stop signal every wait also
//! watches.

use std::time::Duration;

use tokio::sync::watch;

/// Tokio's timer has millisecond ticks and wakes on the first tick at or after a deadline, so
/// a sleep ends up to ~1-2 ms late. Sleeping until `slack` before the deadline and treating
/// anything due within it as due removes that bias from the measured latency; a request sent
/// before its intended time is measured from when it was sent instead (never less than the
/// service time), so starting a little early cannot flatter the numbers.
pub const TIMER_SLACK: Duration = Duration::from_millis(1);

/// Resolves once the run is asked to stop (holding no borrow of the channel across awaits).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
