//! The checkout service's durable state: `<data dir>/checkout.sqlite3`, the saga log.
//!
//! # Tables
//! - `sagas` — one row per checkout id. The primary key is what makes a checkout run once: the
//!   first request inserts the row and runs the saga, every later one (a retry, a concurrent
//!   duplicate) finds it and waits for or replays its answer. `state` is `running`, `pending`
//!   (charged, the order's recording is being finished), `placed` or `failed`; `stage` is the
//!   last step whose intent was logged, which is what recovery after a crash goes by. The
//!   order to record (`order_json`) is stored with the `record_order` intent, before orders
//!   is called, so a restarted checkout can finish it. `answer_*` is the HTTP answer a replay
//!   gets. No card data is ever stored: the card is used once, by the charge step.
//! - `saga_log` — each step's intent (written before the call) and outcome (after it).
//! - `compensations` — clean-up still owed (release stock, void a charge, commit stock, empty
//!   the cart, record an order), one row per task and checkout, inserted in the same
//!   transaction as the state change that makes it owed and deleted when its owner confirmed
//!   it. A checkout killed at any point restarts with exactly the work it still owes.
//!
//! Finished sagas are kept for [`RETENTION`] (replays of a key answer from here), then pruned
//! with their log, so the file does not grow with history.

use std::path::Path;
use std::time::Duration;

use crate::answer::Answer;
use crate::compensation::Task;
use apiary_store::rusqlite::{self, Connection, OptionalExtension, TransactionBehavior, params};
use apiary_store::{Db, M, StoreError, now_ms};
use apiary_wire::shop::{NewOrder, SagaLogEntry, SagaState};

const MIGRATIONS: &[M<'static>] = &[M::up(
    r#"
CREATE TABLE sagas (
    checkout_id TEXT PRIMARY KEY,
    cart_id TEXT NOT NULL,
    country TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'pending', 'placed', 'failed')),
    stage TEXT,
    order_json TEXT,
    carrier TEXT,
    eta_days INTEGER,
    answer_status INTEGER,
    answer_json TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX sagas_by_state ON sagas (state, updated_at_ms);

CREATE TABLE saga_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    checkout_id TEXT NOT NULL REFERENCES sagas (checkout_id) ON DELETE CASCADE,
    step TEXT NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('intent', 'done', 'failed')),
    at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX saga_log_by_checkout ON saga_log (checkout_id, seq);

CREATE TABLE compensations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    checkout_id TEXT NOT NULL,
    task TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (checkout_id, task)
) STRICT;
"#,
)];

/// How long a finished saga (and its answer to replays) is kept.
pub const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// One saga as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SagaRecord {
    pub checkout_id: String,
    pub cart_id: String,
    pub country: String,
    pub state: SagaState,
    /// The last step whose intent was logged.
    pub stage: Option<String>,
    /// The order to record, once the charge went through.
    pub order: Option<NewOrder>,
    pub carrier: Option<String>,
    pub eta_days: Option<u8>,
    pub answer: Option<Answer>,
}

/// What `begin` found.
#[derive(Debug)]
pub enum Begin {
    /// This request inserted the row: it runs the saga.
    Started,
    /// The id was used before (or is in use now).
    Existing(Box<SagaRecord>),
}

/// A state change that ends (or parks) a saga, with the clean-up it makes owed.
#[derive(Debug)]
pub struct Transition {
    pub state: SagaState,
    pub answer: Answer,
    pub tasks: Vec<Task>,
}

/// A compensation row.
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub id: i64,
    pub task: Task,
}

/// Why the saga store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SagaStoreError {
    #[error("stored saga data is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for SagaStoreError {
    fn from(e: rusqlite::Error) -> Self {
        SagaStoreError::Store(StoreError::Sql(e))
    }
}

impl From<serde_json::Error> for SagaStoreError {
    fn from(e: serde_json::Error) -> Self {
        SagaStoreError::Corrupt(e.to_string())
    }
}

type Result<T> = std::result::Result<T, SagaStoreError>;

/// The saga log and the owed clean-up.
#[derive(Debug, Clone)]
pub struct SagaStore {
    db: Db,
}

fn parse_state(raw: &str) -> Result<SagaState> {
    Ok(match raw {
        "running" => SagaState::Running,
        "pending" => SagaState::Pending,
        "placed" => SagaState::Placed,
        "failed" => SagaState::Failed,
        other => return Err(SagaStoreError::Corrupt(format!("saga state {other:?}"))),
    })
}

const SAGA_COLUMNS: &str = "checkout_id, cart_id, country, state, stage, order_json, carrier, \
     eta_days, answer_status, answer_json";

fn read_saga(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawSaga> {
    Ok(RawSaga {
        checkout_id: row.get(0)?,
        cart_id: row.get(1)?,
        country: row.get(2)?,
        state: row.get(3)?,
        stage: row.get(4)?,
        order_json: row.get(5)?,
        carrier: row.get(6)?,
        eta_days: row.get(7)?,
        answer_status: row.get(8)?,
        answer_json: row.get(9)?,
    })
}

/// A row before its JSON columns are decoded (decoding errors are not SQL errors).
struct RawSaga {
    checkout_id: String,
    cart_id: String,
    country: String,
    state: String,
    stage: Option<String>,
    order_json: Option<String>,
    carrier: Option<String>,
    eta_days: Option<i64>,
    answer_status: Option<i64>,
    answer_json: Option<String>,
}

impl RawSaga {
    fn decode(self) -> Result<SagaRecord> {
        let answer = match (self.answer_status, self.answer_json) {
            (Some(status), Some(body)) => Some(Answer {
                status: u16::try_from(status)
                    .map_err(|_| SagaStoreError::Corrupt(format!("answer status {status}")))?,
                body: serde_json::from_str(&body)?,
            }),
            _ => None,
        };
        Ok(SagaRecord {
            checkout_id: self.checkout_id,
            cart_id: self.cart_id,
            country: self.country,
            state: parse_state(&self.state)?,
            stage: self.stage,
            order: self
                .order_json
                .map(|o| serde_json::from_str(&o))
                .transpose()?,
            carrier: self.carrier,
            eta_days: self.eta_days.and_then(|d| u8::try_from(d).ok()),
            answer,
        })
    }
}

fn select_saga(conn: &Connection, id: &str) -> Result<Option<SagaRecord>> {
    conn.query_row(
        &format!("SELECT {SAGA_COLUMNS} FROM sagas WHERE checkout_id = ?1"),
        [id],
        read_saga,
    )
    .optional()?
    .map(RawSaga::decode)
    .transpose()
}

fn log(conn: &Connection, id: &str, step: &str, phase: &str, at: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO saga_log (checkout_id, step, phase, at_ms) VALUES (?1, ?2, ?3, ?4)",
        params![id, step, phase, at],
    )
    .map(drop)
}

/// Records owed tasks; returns the rows this call added (a task already owed for the same
/// checkout is the same work, and keeps its first row).
fn insert_tasks(conn: &Connection, tasks: &[Task], at: i64) -> Result<Vec<TaskRow>> {
    let mut added = Vec::new();
    for task in tasks {
        let inserted = conn.execute(
            "INSERT INTO compensations (checkout_id, task, payload, created_at_ms)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (checkout_id, task) DO NOTHING",
            params![
                task.checkout_id(),
                task.name(),
                serde_json::to_string(task)?,
                at
            ],
        )?;
        if inserted == 1 {
            added.push(TaskRow {
                id: conn.last_insert_rowid(),
                task: task.clone(),
            });
        }
    }
    Ok(added)
}

fn apply(conn: &Connection, id: &str, t: &Transition, at: i64) -> Result<Vec<TaskRow>> {
    conn.execute(
        "UPDATE sagas SET state = ?2, answer_status = ?3, answer_json = ?4, updated_at_ms = ?5
         WHERE checkout_id = ?1",
        params![
            id,
            t.state.as_str(),
            i64::from(t.answer.status),
            serde_json::to_string(&t.answer.body)?,
            at
        ],
    )?;
    insert_tasks(conn, &t.tasks, at)
}

impl SagaStore {
    /// Opens (creating and migrating) `<data_dir>/checkout.sqlite3`.
    pub fn open(data_dir: &Path) -> std::result::Result<Self, StoreError> {
        Ok(Self {
            db: Db::open(data_dir, "checkout", MIGRATIONS)?,
        })
    }

    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// The database (the chassis's readiness check pings it).
    pub fn db(&self) -> &apiary_store::Db {
        &self.db
    }

    /// Claims `id` for a new saga, or returns the saga that already has it.
    pub async fn begin(&self, id: &str, cart_id: &str, country: &str) -> Result<Begin> {
        let (id, cart_id, country) = (id.to_owned(), cart_id.to_owned(), country.to_owned());
        self.db
            .run("saga_begin", move |conn| {
                let at = now_ms();
                let inserted = conn.execute(
                    "INSERT INTO sagas (checkout_id, cart_id, country, state, created_at_ms, updated_at_ms)
                     VALUES (?1, ?2, ?3, 'running', ?4, ?4) ON CONFLICT (checkout_id) DO NOTHING",
                    params![id, cart_id, country, at],
                )?;
                if inserted == 1 {
                    return Ok(Begin::Started);
                }
                let raw = conn.query_row(
                    &format!("SELECT {SAGA_COLUMNS} FROM sagas WHERE checkout_id = ?1"),
                    [&id],
                    read_saga,
                )?;
                Ok(Begin::Existing(Box::new(raw.decode()?)))
            })
            .await
    }

    /// Logs a step's intent (before its call) and makes it the saga's stage.
    pub async fn intent(&self, id: &str, step: &'static str) -> Result<()> {
        let id = id.to_owned();
        self.db
            .run("saga_intent", move |conn| {
                let at = now_ms();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute(
                    "UPDATE sagas SET stage = ?2, updated_at_ms = ?3 WHERE checkout_id = ?1",
                    params![id, step, at],
                )?;
                log(&tx, &id, step, "intent", at)?;
                tx.commit()?;
                Ok(())
            })
            .await
    }

    /// Logs the `record_order` intent with the order itself, so a restarted checkout can
    /// finish recording it.
    pub async fn intent_record(
        &self,
        id: &str,
        order: &NewOrder,
        carrier: &str,
        eta_days: u8,
    ) -> Result<()> {
        let id = id.to_owned();
        let order = serde_json::to_string(order)?;
        let carrier = carrier.to_owned();
        self.db
            .run("saga_intent", move |conn| {
                let at = now_ms();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute(
                    "UPDATE sagas SET stage = 'record_order', order_json = ?2, carrier = ?3,
                         eta_days = ?4, updated_at_ms = ?5 WHERE checkout_id = ?1",
                    params![id, order, carrier, i64::from(eta_days), at],
                )?;
                log(&tx, &id, "record_order", "intent", at)?;
                tx.commit()?;
                Ok(())
            })
            .await
    }

    /// Logs a step's outcome.
    pub async fn outcome(&self, id: &str, step: &'static str, ok: bool) -> Result<()> {
        let id = id.to_owned();
        self.db
            .run("saga_outcome", move |conn| {
                log(
                    conn,
                    &id,
                    step,
                    if ok { "done" } else { "failed" },
                    now_ms(),
                )?;
                Ok(())
            })
            .await
    }

    /// Moves the saga to its next state, stores the answer replays get, and records the
    /// clean-up this makes owed — one transaction. Returns the task rows it added.
    pub async fn transition(&self, id: &str, t: Transition) -> Result<Vec<TaskRow>> {
        let id = id.to_owned();
        self.db
            .run("saga_transition", move |conn| {
                let at = now_ms();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let rows = apply(&tx, &id, &t, at)?;
                tx.commit()?;
                Ok(rows)
            })
            .await
    }

    /// A task is confirmed by its owner: delete its row, apply the saga transition it causes
    /// (if any) and record its follow-ups — one transaction. Returns the rows it added.
    pub async fn task_done(
        &self,
        row: i64,
        checkout_id: &str,
        step: &'static str,
        ok: bool,
        then: Option<Transition>,
        follow_ups: Vec<Task>,
    ) -> Result<Vec<TaskRow>> {
        let id = checkout_id.to_owned();
        self.db
            .run("compensation_done", move |conn| {
                let at = now_ms();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let deleted = tx.execute("DELETE FROM compensations WHERE id = ?1", [row])?;
                if deleted == 0 {
                    // Another run of the same task finished first; its follow-ups are owed already.
                    return Ok(Vec::new());
                }
                // The saga row may be gone (pruned); the log entry is then moot.
                let exists: Option<i64> = tx
                    .query_row("SELECT 1 FROM sagas WHERE checkout_id = ?1", [&id], |r| {
                        r.get(0)
                    })
                    .optional()?;
                if exists.is_some() {
                    log(&tx, &id, step, if ok { "done" } else { "failed" }, at)?;
                }
                let mut rows = match &then {
                    Some(t) if exists.is_some() => apply(&tx, &id, t, at)?,
                    Some(t) => insert_tasks(&tx, &t.tasks, at)?,
                    None => Vec::new(),
                };
                rows.extend(insert_tasks(&tx, &follow_ups, at)?);
                tx.commit()?;
                Ok(rows)
            })
            .await
    }

    /// A saga without its log (what a waiter polls).
    pub async fn saga(&self, id: &str) -> Result<Option<SagaRecord>> {
        let id = id.to_owned();
        self.db
            .run("saga_get", move |conn| select_saga(conn, &id))
            .await
    }

    /// A saga and its log.
    pub async fn get(&self, id: &str) -> Result<Option<(SagaRecord, Vec<SagaLogEntry>)>> {
        let id = id.to_owned();
        self.db
            .run("saga_get", move |conn| {
                let Some(saga) = select_saga(conn, &id)? else {
                    return Ok(None);
                };
                let mut stmt = conn.prepare_cached(
                    "SELECT step, phase, at_ms FROM saga_log WHERE checkout_id = ?1 ORDER BY seq",
                )?;
                let log = stmt
                    .query_map([&id], |r| {
                        Ok(SagaLogEntry {
                            step: r.get(0)?,
                            phase: r.get(1)?,
                            at_ms: r.get(2)?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(Some((saga, log)))
            })
            .await
    }

    /// Sagas no process is running: after a restart, every `running` one.
    pub async fn running(&self) -> Result<Vec<SagaRecord>> {
        self.db
            .run("saga_running", |conn| {
                let mut stmt = conn.prepare(&format!(
                    "SELECT {SAGA_COLUMNS} FROM sagas WHERE state = 'running' ORDER BY created_at_ms"
                ))?;
                let raws = stmt
                    .query_map([], read_saga)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                raws.into_iter().map(RawSaga::decode).collect()
            })
            .await
    }

    /// Every owed task (start-up: resume them all).
    pub async fn tasks(&self) -> Result<Vec<TaskRow>> {
        self.db
            .run("compensation_list", |conn| task_rows(conn))
            .await
    }

    /// Owed tasks plus sagas still running: work that is not finished.
    pub async fn unfinished(&self) -> Result<u64> {
        self.db
            .run("saga_unfinished", |conn| {
                let n: i64 = conn.query_row(
                    "SELECT (SELECT count(*) FROM compensations)
                          + (SELECT count(*) FROM sagas WHERE state IN ('running', 'pending'))",
                    [],
                    |r| r.get(0),
                )?;
                Ok(u64::try_from(n).unwrap_or(0))
            })
            .await
    }

    /// Deletes finished sagas (and their logs) last changed before `older_than_ms`. Sagas with
    /// clean-up still owed are kept. Returns how many went.
    pub async fn prune(&self, older_than_ms: i64) -> Result<usize> {
        self.db
            .run("saga_prune", move |conn| {
                let n = conn.execute(
                    "DELETE FROM sagas WHERE state IN ('placed', 'failed') AND updated_at_ms < ?1
                       AND checkout_id NOT IN (SELECT checkout_id FROM compensations)",
                    [older_than_ms],
                )?;
                Ok(n)
            })
            .await
    }
}

fn task_rows(conn: &Connection) -> Result<Vec<TaskRow>> {
    let mut stmt = conn.prepare_cached("SELECT id, payload FROM compensations ORDER BY id")?;
    let raws = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raws.into_iter()
        .map(|(id, payload)| {
            Ok(TaskRow {
                id,
                task: serde_json::from_str(&payload)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiary_wire::Money;

    fn id(raw: &str) -> crate::domain::CheckoutId {
        crate::domain::CheckoutId::parse(raw).expect("id")
    }

    fn open() -> (tempfile::TempDir, SagaStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SagaStore::open(dir.path()).expect("open");
        (dir, store)
    }

    fn failed(tasks: Vec<Task>) -> Transition {
        Transition {
            state: SagaState::Failed,
            answer: Answer {
                status: 402,
                body: serde_json::json!({"error": {"code": "card_declined", "message": "no"}}),
            },
            tasks,
        }
    }

    #[tokio::test]
    async fn one_saga_per_id_and_replays_see_the_first() {
        let (_dir, store) = open();
        assert!(matches!(
            store.begin("co-1", "cart-1", "DE").await.expect("begin"),
            Begin::Started
        ));
        match store.begin("co-1", "cart-2", "FR").await.expect("again") {
            Begin::Existing(s) => {
                assert_eq!(
                    (s.cart_id.as_str(), s.state),
                    ("cart-1", SagaState::Running)
                );
                assert!(s.answer.is_none());
            }
            Begin::Started => panic!("a second saga started for one id"),
        }
    }

    #[tokio::test]
    async fn a_transition_and_its_clean_up_are_one_write_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = SagaStore::open(dir.path()).expect("open");
            store.begin("co-1", "cart-1", "DE").await.expect("begin");
            store
                .intent("co-1", "charge_payment")
                .await
                .expect("intent");
            let rows = store
                .transition(
                    "co-1",
                    failed(vec![
                        Task::VoidCharge(id("co-1")),
                        Task::ReleaseStock(id("co-1")),
                        // Owed twice is owed once.
                        Task::ReleaseStock(id("co-1")),
                    ]),
                )
                .await
                .expect("transition");
            assert_eq!(rows.len(), 2);
        }
        let store = SagaStore::open(dir.path()).expect("reopen");
        let tasks = store.tasks().await.expect("tasks");
        assert_eq!(tasks.len(), 2);
        let (saga, log) = store.get("co-1").await.expect("get").expect("saga");
        assert_eq!(saga.state, SagaState::Failed);
        assert_eq!(saga.stage.as_deref(), Some("charge_payment"));
        assert_eq!(saga.answer.expect("answer").status, 402);
        assert_eq!(log.len(), 1);
        assert_eq!(store.unfinished().await.expect("count"), 2);

        // Confirmed tasks go; a second confirmation of the same row is a no-op.
        let first = tasks[0].id;
        store
            .task_done(first, "co-1", "void_charge", true, None, Vec::new())
            .await
            .expect("done");
        let again = store
            .task_done(
                first,
                "co-1",
                "void_charge",
                true,
                None,
                vec![Task::ReleaseStock(id("x"))],
            )
            .await
            .expect("done twice");
        assert!(again.is_empty());
        assert_eq!(store.tasks().await.expect("tasks").len(), 1);
    }

    #[tokio::test]
    async fn the_order_is_stored_with_its_intent_and_running_sagas_are_found() {
        let (_dir, store) = open();
        store.begin("co-1", "cart-1", "DE").await.expect("begin");
        store.begin("co-2", "cart-2", "DE").await.expect("begin");
        let money = Money {
            amount_minor: 100,
            currency: apiary_wire::Currency::EUR,
        };
        let order = NewOrder {
            order_id: "co-1".into(),
            cart_id: "cart-1".into(),
            lines: Vec::new(),
            shipping: money,
            total: money,
            charge_id: "ch_1".into(),
            reservation_id: "co-1".into(),
            quote_id: "q_1".into(),
        };
        store
            .intent_record("co-1", &order, "DHL", 2)
            .await
            .expect("intent");
        store
            .transition("co-2", failed(Vec::new()))
            .await
            .expect("fail");
        let running = store.running().await.expect("running");
        assert_eq!(running.len(), 1);
        assert_eq!(running[0].order.as_ref(), Some(&order));
        assert_eq!(running[0].carrier.as_deref(), Some("DHL"));
    }

    #[tokio::test]
    async fn finished_sagas_are_pruned_unless_clean_up_is_owed() {
        let (_dir, store) = open();
        store.begin("co-1", "cart-1", "DE").await.expect("begin");
        store.begin("co-2", "cart-2", "DE").await.expect("begin");
        store.begin("co-3", "cart-3", "DE").await.expect("begin");
        store.intent("co-1", "read_cart").await.expect("log");
        store
            .transition("co-1", failed(Vec::new()))
            .await
            .expect("t");
        store
            .transition("co-2", failed(vec![Task::ReleaseStock(id("co-2"))]))
            .await
            .expect("t");
        assert_eq!(store.prune(now_ms() + 1).await.expect("prune"), 1);
        assert!(store.get("co-1").await.expect("get").is_none());
        assert!(store.get("co-2").await.expect("get").is_some());
        // Running sagas are never pruned.
        assert!(store.get("co-3").await.expect("get").is_some());
    }
}
