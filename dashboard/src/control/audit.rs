//! The append-only audit log: one JSON line per change, who, what, when. Opened in append mode
//! and never rewritten; the API reads its tail.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix milliseconds.
    pub at: u64,
    /// Who asked (`X-Apiary-Actor`, else `api`), or `system` (expiry, start-up, drills).
    pub actor: String,
    /// `fault.set`, `fault.clear`, `fault.expire`, `faults.reset`, `drill.start`, `drill.end`,
    /// `load.change`, `control.start`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(Debug)]
pub struct Audit {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Audit {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Appends one entry. A write failure is logged, never fatal: the change itself happened.
    pub fn record(&self, entry: &Entry) {
        let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let line = match serde_json::to_string(entry) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "audit entry not encodable");
                return;
            }
        };
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            tracing::error!(path = %self.path.display(), error = %e, "cannot append to the audit log");
        }
    }

    /// The last `limit` entries, oldest first (unreadable lines are skipped).
    pub fn tail(&self, limit: usize) -> Vec<Entry> {
        let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(limit)..]
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_appended_and_the_tail_is_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = Audit::new(dir.path().join("audit.jsonl"));
        for i in 0..5 {
            audit.record(&Entry {
                at: i,
                actor: "tester".into(),
                action: "fault.set".into(),
                id: Some(format!("f{i}")),
                detail: serde_json::json!({"n": i}),
            });
        }
        let tail = audit.tail(2);
        assert_eq!(tail.len(), 2);
        assert_eq!(tail[0].id.as_deref(), Some("f3"));
        assert_eq!(tail[1].at, 4);
        // A second log on the same file appends, never truncates.
        Audit::new(dir.path().join("audit.jsonl")).record(&Entry {
            at: 9,
            actor: "other".into(),
            action: "faults.reset".into(),
            id: None,
            detail: serde_json::Value::Null,
        });
        assert_eq!(audit.tail(100).len(), 6);
    }
}
