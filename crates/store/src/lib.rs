//! Embedded SQLite for the services that own durable data (orders, inventory, reviews, the
//! payment ledger): one file per service under the data directory, WAL mode, schema migrated
//! at start-up, and async access that never blocks the runtime.
//!
//! # Why one connection behind a mutex
//! Each service writes a few hundred rows a second at most, and SQLite allows one writer at a
//! time anyway; a single connection used from `spawn_blocking` keeps transactions simple
//! (`BEGIN IMMEDIATE` is never contended) and needs no pool crate. Reads share it — they are
//! microseconds on an indexed table.
//!
//! # Durability
//! `journal_mode=WAL` with `synchronous=NORMAL`: a committed transaction survives the process
//! being killed (SIGKILL, a crash); only an operating-system crash may lose the last commits.
//! `busy_timeout` covers a second process (a test, `sqlite3`) reading the file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod inbox;

pub use rusqlite;
use rusqlite::Connection;
pub use rusqlite_migration::M;
use rusqlite_migration::Migrations;

/// Why the store could not open or answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot migrate {path}: {source}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: rusqlite_migration::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the database task stopped: {0}")]
    Task(String),
}

/// A service's database.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    path: Arc<PathBuf>,
    service: &'static str,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

/// `<data_dir>/<service>.sqlite3`.
pub fn file_for(data_dir: &Path, service: &str) -> PathBuf {
    data_dir.join(format!("{service}.sqlite3"))
}

impl Db {
    /// Opens (creating if needed) `<data_dir>/<service>.sqlite3` and applies `migrations`
    /// (tracked in `PRAGMA user_version`; append new ones, never edit shipped ones).
    pub fn open(
        data_dir: &Path,
        service: &'static str,
        migrations: &[M<'static>],
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_owned(),
            source,
        })?;
        let path = file_for(data_dir, service);
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open(&path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        Migrations::from_slice(migrations)
            .to_latest(&mut conn)
            .map_err(|source| StoreError::Migrate {
                path: path.clone(),
                source,
            })?;
        tracing::info!(path = %path.display(), "database open (WAL)");
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: Arc::new(path),
            service,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking pool. `op` names the operation for the
    /// `apiary_db_operation_duration_seconds{op}` histogram.
    pub async fn run<T, E, F>(&self, op: &'static str, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        // The slow-store fault: every operation waits first (a no-op without the fault).
        if let Some(faults) = apiary_faults::runtime::get()
            && let Some(delay) = faults.store_delay().await
        {
            tokio::time::sleep(delay).await;
        }
        let conn = self.conn.clone();
        let service = self.service;
        let joined = tokio::task::spawn_blocking(move || {
            let start = Instant::now();
            // A panic inside a previous closure poisons the mutex; the connection itself is
            // still consistent (SQLite rolled back the open transaction), so keep using it.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            let result = f(&mut guard);
            metrics::histogram!(
                "apiary_db_operation_duration_seconds",
                "db_system" => "sqlite",
                "db_namespace" => service,
                "op" => op
            )
            .record(start.elapsed().as_secs_f64());
            result
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(e) => Err(E::from(StoreError::Task(e.to_string()))),
        }
    }

    /// Readiness: the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), Unusable> {
        self.run("ping", |c| {
            c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map_err(StoreError::from)
        })
        .await
        .map(drop)
        .map_err(Unusable)
    }
}

/// The readiness check's failure: the database did not answer `SELECT 1`.
#[derive(Debug, thiserror::Error)]
#[error("database unusable")]
pub struct Unusable(#[source] pub StoreError);

/// Milliseconds since the Unix epoch (how every store records time).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIGRATIONS: &[M<'static>] = &[
        M::up("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);"),
        M::up("ALTER TABLE t ADD COLUMN n INTEGER NOT NULL DEFAULT 0;"),
    ];

    #[tokio::test]
    async fn opens_in_wal_mode_migrates_and_survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(dir.path(), "unit", MIGRATIONS).expect("open");
        assert_eq!(db.path(), file_for(dir.path(), "unit"));
        let mode: String = db
            .run("mode", |c| {
                c.query_row("PRAGMA journal_mode", [], |r| r.get(0))
                    .map_err(StoreError::from)
            })
            .await
            .expect("mode");
        assert_eq!(mode, "wal");
        db.run("insert", |c| {
            c.execute("INSERT INTO t (v, n) VALUES ('a', 2)", [])
                .map_err(StoreError::from)
        })
        .await
        .expect("insert");
        db.ping().await.expect("ping");
        drop(db);
        let again = Db::open(dir.path(), "unit", MIGRATIONS).expect("reopen");
        let n: i64 = again
            .run("read", |c| {
                c.query_row("SELECT n FROM t WHERE v = 'a'", [], |r| r.get(0))
                    .map_err(StoreError::from)
            })
            .await
            .expect("read");
        assert_eq!(n, 2);
    }

    #[test]
    fn an_unwritable_data_dir_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").expect("write");
        let err = Db::open(&file.join("sub"), "unit", MIGRATIONS).expect_err("not a dir");
        assert!(err.to_string().contains("data directory"), "{err}");
    }
}
