//! Fault and drill windows: opened and closed by the control plane, read by every snapshot,
//! pruned to what the charts' 15 minutes can show.

use std::collections::VecDeque;

use super::{FaultWindow, SERIES_LEN, now_ms};

/// Fault and drill windows, written by the control plane and read by every snapshot. Only
/// what a snapshot can show is kept: open windows, and closed ones that ended within the
/// charts' 15 minutes; older ones are dropped as new ones come and go, so a long-running
/// dashboard does not keep every fault it ever saw.
#[derive(Debug, Default)]
pub struct Annotations(std::sync::RwLock<WindowLog>);

#[derive(Debug, Default)]
struct WindowLog {
    /// The id the next window gets (ids start at 1; 0 is never given).
    last_id: usize,
    windows: VecDeque<(usize, FaultWindow)>,
}

/// Closed windows kept at most, even within 15 minutes (a flapping fault cannot grow it).
const MAX_CLOSED_WINDOWS: usize = 1_000;

impl WindowLog {
    /// Drops closed windows that ended before the charts' reach, and the oldest closed ones
    /// past [`MAX_CLOSED_WINDOWS`].
    fn prune(&mut self, now_ms: u64) {
        let since = now_ms.saturating_sub(SERIES_LEN as u64 * 1000);
        self.windows
            .retain(|(_, w)| w.end.is_none_or(|e| e >= since));
        let mut closed = self.windows.iter().filter(|(_, w)| w.end.is_some()).count();
        self.windows.retain(|(_, w)| {
            if w.end.is_some() && closed > MAX_CLOSED_WINDOWS {
                closed -= 1;
                false
            } else {
                true
            }
        });
    }
}

impl Annotations {
    /// Opens a window and returns its id.
    pub fn open(&self, window: FaultWindow) -> usize {
        let mut log = self.0.write().unwrap_or_else(|p| p.into_inner());
        log.prune(now_ms());
        log.last_id += 1;
        let id = log.last_id;
        log.windows.push_back((id, window));
        id
    }

    /// Closes the window `id` at `end` (Unix ms).
    pub fn close(&self, id: usize, end: u64) {
        let mut log = self.0.write().unwrap_or_else(|p| p.into_inner());
        if let Some((_, win)) = log.windows.iter_mut().find(|(i, _)| *i == id)
            && win.end.is_none()
        {
            win.end = Some(end);
        }
        log.prune(now_ms());
    }

    /// The windows that overlap the last 15 minutes (open ones included).
    pub fn recent(&self, now_ms: u64) -> Vec<FaultWindow> {
        let since = now_ms.saturating_sub(SERIES_LEN as u64 * 1000);
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .windows
            .iter()
            .filter(|(_, w)| w.end.is_none_or(|e| e >= since))
            .map(|(_, w)| w.clone())
            .collect()
    }

    /// Windows held (for tests).
    pub fn len(&self) -> usize {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .windows
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 13: every fault and drill window was kept for ever. Closed windows past the
    /// charts' 15 minutes are dropped now, and open ones stay whatever their age.
    #[test]
    fn annotations_keep_only_what_a_snapshot_can_show() {
        let a = Annotations::default();
        let window = |name: &str, start: u64| FaultWindow {
            kind: "fault".into(),
            name: name.into(),
            service: None,
            start,
            end: None,
        };
        let long_ago = now_ms() - 3_600_000;
        let still_open = a.open(window("still open", long_ago));
        for i in 0..5_000 {
            let id = a.open(window(&format!("old {i}"), long_ago));
            a.close(id, long_ago + 1);
        }
        assert_eq!(a.len(), 1, "old closed windows are gone");
        for i in 0..2_000 {
            let id = a.open(window(&format!("recent {i}"), now_ms()));
            a.close(id, now_ms());
        }
        assert!(a.len() <= MAX_CLOSED_WINDOWS + 1, "{}", a.len());
        let recent = a.recent(now_ms());
        assert_eq!(recent[0].name, "still open");
        a.close(still_open, now_ms());
        assert!(a.recent(now_ms()).iter().all(|w| w.end.is_some()));
    }
}
