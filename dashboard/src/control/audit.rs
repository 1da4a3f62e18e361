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

    /// The last `limit` entries, oldest first (unreadable lines are skipped). The log only
    /// grows, so it is read backwards from its end, block by block, until `limit` lines are
    /// in hand: the cost follows `limit`, not the log's age.
    pub fn tail(&self, limit: usize) -> Vec<Entry> {
        let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = match std::fs::File::open(&self.path).and_then(|f| last_lines(f, limit)) {
            Ok(bytes) => bytes,
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %self.path.display(), error = %e, "cannot read the audit log");
                }
                return Vec::new();
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(limit)..]
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// Bytes read from the end of the log per step.
const TAIL_BLOCK: u64 = 64 * 1024;

/// The end of `file` holding at least its last `n` lines (all of it when it has fewer).
fn last_lines(mut file: std::fs::File, n: usize) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata()?.len();
    let mut start = len;
    let mut tail: Vec<u8> = Vec::new();
    let mut newlines = 0usize;
    // n + 1 newlines: the last line ends with one, and the line before the first wanted too.
    while start > 0 && newlines <= n {
        let step = TAIL_BLOCK.min(start);
        start -= step;
        file.seek(SeekFrom::Start(start))?;
        let mut block = vec![0u8; usize::try_from(step).unwrap_or(0)];
        file.read_exact(&mut block)?;
        newlines += block.iter().filter(|b| **b == b'\n').count();
        block.extend_from_slice(&tail);
        tail = block;
    }
    // A partial first line (cut by the block edge) is dropped.
    if start > 0
        && let Some(i) = tail.iter().position(|b| *b == b'\n')
    {
        tail.drain(..=i);
    }
    Ok(tail)
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

    /// Issue 13: the tail used to read the whole log, which only grows. It reads the end now;
    /// lines cut by a block edge and lines spanning several blocks come back whole.
    #[test]
    fn the_tail_of_a_long_log_is_read_from_its_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = Audit::new(dir.path().join("audit.jsonl"));
        let long = "x".repeat(100_000);
        for i in 0..3_000u64 {
            audit.record(&Entry {
                at: i,
                actor: "tester".into(),
                action: "fault.set".into(),
                id: Some(format!("f{i}")),
                detail: if i % 1000 == 999 {
                    serde_json::json!({"long": long})
                } else {
                    serde_json::json!({"n": i})
                },
            });
        }
        let tail = audit.tail(3);
        assert_eq!(
            tail.iter().map(|e| e.at).collect::<Vec<_>>(),
            vec![2_997, 2_998, 2_999]
        );
        assert_eq!(tail[2].detail["long"].as_str().map(str::len), Some(100_000));
        let more = audit.tail(1_500);
        assert_eq!(more.len(), 1_500);
        assert_eq!(more[0].at, 1_500);
        assert_eq!(audit.tail(10_000).len(), 3_000);
        let file = std::fs::File::open(audit.path()).expect("open");
        let end = last_lines(file, 3).expect("tail");
        assert!(
            end.len() < 200_000,
            "3 lines read {} bytes, not the whole log",
            end.len()
        );
    }
}
