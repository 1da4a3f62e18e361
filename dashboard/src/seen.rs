//! When the UI showed a snapshot: the browser reports (`POST /api/seen`, a beacon with the
//! snapshot's `at`) each time it has rendered a snapshot in which a service's health changed.
//! The dashboard notes when the report arrived; a drill's time-to-detect breakdown reads the
//! first report for the snapshot that carried the change, or a later one, as "the UI showed
//! it" (the beacon's trip included: an upper bound on the render).
//!
//! The endpoint takes no token (it changes nothing but this log, and the browser sends it
//! without credentials): it refuses cross-site requests and bodies over [`MAX_BODY`], and
//! the log holds the last [`KEPT`] reports.

use std::collections::VecDeque;
use std::sync::Mutex;

/// Reports kept.
pub const KEPT: usize = 256;
/// The largest body accepted (`{"at": 1796424567291}` is 22 bytes).
pub const MAX_BODY: usize = 256;

#[derive(Debug, Default)]
pub struct SeenLog(Mutex<VecDeque<(u64, u64)>>);

impl SeenLog {
    /// Notes that a browser showed snapshot `at` (Unix ms), reported at `received_ms`.
    pub fn note(&self, at: u64, received_ms: u64) {
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        log.push_back((at, received_ms));
        while log.len() > KEPT {
            log.pop_front();
        }
    }

    /// When a browser first reported showing snapshot `at`, or a later one (Unix ms).
    pub fn shown_since(&self, at: u64) -> Option<u64> {
        let log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        log.iter()
            .filter(|(snap, _)| *snap >= at)
            .map(|(_, received)| *received)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_report_of_that_snapshot_or_a_later_one_counts_and_the_log_is_bounded() {
        let log = SeenLog::default();
        log.note(1_000, 1_150);
        log.note(2_000, 2_090);
        log.note(2_000, 2_400);
        assert_eq!(log.shown_since(1_500), Some(2_090));
        assert_eq!(log.shown_since(900), Some(1_150));
        assert_eq!(log.shown_since(3_000), None);
        for i in 0..(KEPT as u64 * 2) {
            log.note(10_000 + i, 10_000 + i);
        }
        assert_eq!(log.shown_since(0), Some(10_000 + KEPT as u64));
    }
}
