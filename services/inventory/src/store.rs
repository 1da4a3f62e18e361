//! The inventory's durable state: `<data dir>/inventory.sqlite3`.
//!
//! # Tables
//! - `stock` — one row per product: `available` (can be reserved), `reserved` (held by open
//!   reservations), `sold` (committed), and `initial` (the seeded stock). A `CHECK` keeps
//!   `available + reserved + sold = initial` and every count non-negative, so a bug cannot
//!   oversell or lose units: the statement fails and the transaction rolls back.
//! - `reservations` and `reservation_lines` — what each reservation holds and its status.
//!   A *tombstone* is a reservation released before it ever existed (a caller timed out and
//!   compensated); it has no lines and makes a late reserve with that id fail.
//!
//! # Transactions
//! Every change is one `BEGIN IMMEDIATE` transaction: the write lock is taken before the
//! first read, so the stock checked is the stock updated, even with a second process on the
//! file. The transaction commits before the handler answers, so a caller never sees a
//! success that a crash could undo. Times are passed in (`now_ms`), so tests control the clock.

use std::path::Path;

use apiary_store::rusqlite::{self, Connection, OptionalExtension, TransactionBehavior, params};
use apiary_store::{Db, M, StoreError};
use apiary_wire::shop::{LineItem, Reservation, ReservationStatus, StockLevel};

use crate::domain::{ProductId, ReservationId, ReserveStock, canonical};
use crate::metrics::{self, StockTotals};

const MIGRATIONS: &[M<'static>] = &[M::up(
    r#"
CREATE TABLE stock (
    product_id TEXT PRIMARY KEY NOT NULL,
    available INTEGER NOT NULL CHECK (available >= 0),
    reserved INTEGER NOT NULL CHECK (reserved >= 0),
    sold INTEGER NOT NULL CHECK (sold >= 0),
    initial INTEGER NOT NULL CHECK (initial >= 0),
    CHECK (available + reserved + sold = initial)
) STRICT;

CREATE TABLE reservations (
    reservation_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('held', 'committed', 'released')),
    tombstone INTEGER NOT NULL DEFAULT 0 CHECK (tombstone IN (0, 1)),
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;

-- The sweeper's question: which holds have run out?
CREATE INDEX reservations_held_by_expiry ON reservations (expires_at_ms) WHERE status = 'held';

CREATE TABLE reservation_lines (
    reservation_id TEXT NOT NULL REFERENCES reservations (reservation_id),
    line_no INTEGER NOT NULL,
    product_id TEXT NOT NULL REFERENCES stock (product_id),
    quantity INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    PRIMARY KEY (reservation_id, line_no)
) STRICT;
"#,
)];

/// Most holds one sweep releases, so one transaction never runs long; the rest wait for the
/// next sweep a few seconds later.
pub const SWEEP_BATCH: usize = 500;

/// A product that could not be reserved, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub product_id: String,
    pub available: u32,
    pub requested: u32,
}

/// Why a store operation refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("unknown product {}", .0.join(", "))]
    UnknownProducts(Vec<String>),
    #[error("out of stock: {}", describe_shortages(.0))]
    OutOfStock(Vec<Shortage>),
    #[error("reservation {0} already exists with other lines")]
    Conflict(String),
    #[error("reservation {0} was released")]
    Released(String),
    #[error("reservation {0} is committed; it can no longer be released")]
    Committed(String),
    #[error("no reservation {0}")]
    NotFound(String),
    /// The data contradicts itself (a line names a product whose counts cannot move);
    /// the transaction was rolled back.
    #[error("inconsistent stock: {0}")]
    Inconsistent(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for InventoryError {
    fn from(e: rusqlite::Error) -> Self {
        InventoryError::Store(StoreError::Sql(e))
    }
}

fn describe_shortages(shortages: &[Shortage]) -> String {
    shortages
        .iter()
        .map(|s| {
            format!(
                "{} ({} available, {} requested)",
                s.product_id, s.available, s.requested
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The answer to a reserve request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    /// Stock is now held (201).
    Created(Reservation),
    /// The same request was made before; this is what it produced (200).
    Existing(Reservation),
}

/// What a commit or release did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Stock moved now.
    Applied,
    /// It had happened before; nothing moved.
    AlreadyDone,
    /// Release of an unknown id: a tombstone now refuses that id.
    Tombstoned,
}

/// The inventory store. Cheap to clone (one shared connection).
#[derive(Debug, Clone)]
pub struct InventoryStore {
    db: Db,
}

impl InventoryStore {
    /// Opens (creating and migrating if needed) `<data_dir>/inventory.sqlite3`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: Db::open(data_dir, crate::SERVICE.name, MIGRATIONS)?,
        })
    }

    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// The database (the chassis's readiness check pings it).
    pub fn db(&self) -> &apiary_store::Db {
        &self.db
    }

    /// Adds products that have no stock row yet with their seed stock; existing rows are kept
    /// as they are (a restart must not refill the shelves). Returns how many were added.
    pub async fn seed(&self, stock: Vec<(ProductId, u32)>) -> Result<usize, InventoryError> {
        self.db
            .run("seed_stock", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut added = 0;
                {
                    let mut insert = tx.prepare(
                        "INSERT OR IGNORE INTO stock (product_id, available, reserved, sold, initial)
                         VALUES (?1, ?2, 0, 0, ?2)",
                    )?;
                    for (id, units) in &stock {
                        added += insert.execute(params![id.as_str(), units])?;
                    }
                }
                tx.commit()?;
                publish_levels(conn);
                Ok(added)
            })
            .await
    }

    /// One product's stock, `None` when the product is unknown.
    pub async fn stock(&self, id: ProductId) -> Result<Option<StockLevel>, InventoryError> {
        self.db
            .run("get_stock", move |conn| {
                Ok(conn
                    .query_row(
                        "SELECT product_id, available, reserved, sold FROM stock WHERE product_id = ?1",
                        [id.as_str()],
                        stock_level,
                    )
                    .optional()?)
            })
            .await
    }

    /// The stock of `ids`, in that order; every unknown id is named in the error.
    pub async fn stock_of(&self, ids: Vec<ProductId>) -> Result<Vec<StockLevel>, InventoryError> {
        self.db
            .run("get_stock_many", move |conn| {
                // One snapshot for all ids, even with another process writing.
                let tx = conn.transaction()?;
                let mut levels = Vec::with_capacity(ids.len());
                let mut unknown = Vec::new();
                {
                    let mut select = tx.prepare_cached(
                        "SELECT product_id, available, reserved, sold FROM stock WHERE product_id = ?1",
                    )?;
                    for id in &ids {
                        match select.query_row([id.as_str()], stock_level).optional()? {
                            Some(level) => levels.push(level),
                            None => unknown.push(id.to_string()),
                        }
                    }
                }
                tx.finish()?;
                if unknown.is_empty() {
                    Ok(levels)
                } else {
                    Err(InventoryError::UnknownProducts(unknown))
                }
            })
            .await
    }

    /// Every product's stock, by product id.
    pub async fn all_stock(&self) -> Result<Vec<StockLevel>, InventoryError> {
        self.db
            .run("list_stock", |conn| {
                let mut select = conn.prepare_cached(
                    "SELECT product_id, available, reserved, sold FROM stock ORDER BY product_id",
                )?;
                let rows = select.query_map([], stock_level)?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
    }

    /// Holds every line's units, or nothing: idempotent by reservation id.
    pub async fn reserve(
        &self,
        request: ReserveStock,
        now_ms: i64,
        hold_ms: i64,
    ) -> Result<Reserved, InventoryError> {
        self.db
            .run("reserve", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let id = request.id.as_str();
                if let Some(existing) = load(&tx, id)? {
                    return replay(existing, &request);
                }
                let mut unknown = Vec::new();
                let mut short = Vec::new();
                for line in &request.lines {
                    let available: Option<u32> = tx
                        .prepare_cached("SELECT available FROM stock WHERE product_id = ?1")?
                        .query_row([line.product_id.as_str()], |r| r.get(0))
                        .optional()?;
                    match available {
                        None => unknown.push(line.product_id.to_string()),
                        Some(available) if available < line.quantity => short.push(Shortage {
                            product_id: line.product_id.to_string(),
                            available,
                            requested: line.quantity,
                        }),
                        Some(_) => {}
                    }
                }
                if !unknown.is_empty() {
                    return Err(InventoryError::UnknownProducts(unknown));
                }
                if !short.is_empty() {
                    // Dropping the transaction rolls it back; nothing was written anyway.
                    return Err(InventoryError::OutOfStock(short));
                }
                let expires_at_ms = now_ms.saturating_add(hold_ms);
                tx.execute(
                    "INSERT INTO reservations
                         (reservation_id, status, tombstone, created_at_ms, expires_at_ms, updated_at_ms)
                     VALUES (?1, 'held', 0, ?2, ?3, ?2)",
                    params![id, now_ms, expires_at_ms],
                )?;
                for (line_no, line) in (0_i64..).zip(&request.lines) {
                    // `available >= q` again: the check above already holds under the write
                    // lock, but the update must never be the one that oversells.
                    let moved = tx
                        .prepare_cached(
                            "UPDATE stock SET available = available - ?2, reserved = reserved + ?2
                             WHERE product_id = ?1 AND available >= ?2",
                        )?
                        .execute(params![line.product_id.as_str(), line.quantity])?;
                    if moved != 1 {
                        return Err(InventoryError::Inconsistent(format!(
                            "could not hold {} of {}",
                            line.quantity, line.product_id
                        )));
                    }
                    tx.prepare_cached(
                        "INSERT INTO reservation_lines (reservation_id, line_no, product_id, quantity)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![id, line_no, line.product_id.as_str(), line.quantity])?;
                }
                tx.commit()?;
                publish_levels(conn);
                Ok(Reserved::Created(Reservation {
                    reservation_id: request.id.to_string(),
                    status: ReservationStatus::Held,
                    items: request
                        .lines
                        .into_iter()
                        .map(|l| LineItem {
                            product_id: l.product_id.into_string(),
                            quantity: l.quantity,
                        })
                        .collect(),
                    expires_at_ms,
                }))
            })
            .await
    }

    /// `held` -> `committed`: the held units become sold. Idempotent.
    pub async fn commit(
        &self,
        id: ReservationId,
        now_ms: i64,
    ) -> Result<(Reservation, Change), InventoryError> {
        self.db
            .run("commit", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let Some(mut stored) = load(&tx, id.as_str())? else {
                    return Err(InventoryError::NotFound(id.to_string()));
                };
                match stored.reservation.status {
                    ReservationStatus::Committed => {
                        return Ok((stored.reservation, Change::AlreadyDone));
                    }
                    ReservationStatus::Released => {
                        return Err(InventoryError::Released(id.to_string()));
                    }
                    ReservationStatus::Held => {}
                }
                // A hold past its expiry that the sweeper has not reached yet still holds its
                // units, so committing it is safe; the sweeper and this transaction are
                // serialised, and whichever comes first decides.
                for line in &stored.reservation.items {
                    move_units(
                        &tx,
                        "UPDATE stock SET reserved = reserved - ?2, sold = sold + ?2
                         WHERE product_id = ?1 AND reserved >= ?2",
                        line,
                    )?;
                }
                set_status(&tx, id.as_str(), "committed", now_ms)?;
                tx.commit()?;
                publish_levels(conn);
                stored.reservation.status = ReservationStatus::Committed;
                Ok((stored.reservation, Change::Applied))
            })
            .await
    }

    /// `held` -> `released`: the held units are available again. Idempotent; an unknown id is
    /// tombstoned (see the module doc).
    pub async fn release(
        &self,
        id: ReservationId,
        now_ms: i64,
    ) -> Result<(Reservation, Change), InventoryError> {
        self.db
            .run("release", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let Some(mut stored) = load(&tx, id.as_str())? else {
                    tx.execute(
                        "INSERT INTO reservations
                             (reservation_id, status, tombstone, created_at_ms, expires_at_ms, updated_at_ms)
                         VALUES (?1, 'released', 1, ?2, ?2, ?2)",
                        params![id.as_str(), now_ms],
                    )?;
                    tx.commit()?;
                    let tombstone = Reservation {
                        reservation_id: id.to_string(),
                        status: ReservationStatus::Released,
                        items: Vec::new(),
                        expires_at_ms: now_ms,
                    };
                    return Ok((tombstone, Change::Tombstoned));
                };
                match stored.reservation.status {
                    ReservationStatus::Released => return Ok((stored.reservation, Change::AlreadyDone)),
                    ReservationStatus::Committed => return Err(InventoryError::Committed(id.to_string())),
                    ReservationStatus::Held => {}
                }
                give_back(&tx, &stored.reservation.items)?;
                set_status(&tx, id.as_str(), "released", now_ms)?;
                tx.commit()?;
                publish_levels(conn);
                stored.reservation.status = ReservationStatus::Released;
                Ok((stored.reservation, Change::Applied))
            })
            .await
    }

    /// One reservation, `None` when unknown.
    pub async fn reservation(
        &self,
        id: ReservationId,
    ) -> Result<Option<Reservation>, InventoryError> {
        self.db
            .run("get_reservation", move |conn| {
                let tx = conn.transaction()?;
                let stored = load(&tx, id.as_str())?;
                tx.finish()?;
                Ok(stored.map(|s| s.reservation))
            })
            .await
    }

    /// Releases up to [`SWEEP_BATCH`] holds whose expiry is at or before `now_ms`, in one
    /// transaction, and returns their ids.
    pub async fn expire_due(&self, now_ms: i64) -> Result<Vec<String>, InventoryError> {
        self.db
            .run("expire_holds", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let due: Vec<String> = {
                    let mut select = tx.prepare_cached(
                        "SELECT reservation_id FROM reservations
                         WHERE status = 'held' AND expires_at_ms <= ?1
                         ORDER BY expires_at_ms LIMIT ?2",
                    )?;
                    let rows =
                        select.query_map(params![now_ms, SWEEP_BATCH as i64], |r| r.get(0))?;
                    rows.collect::<Result<_, _>>()?
                };
                for id in &due {
                    let items = lines(&tx, id)?;
                    give_back(&tx, &items)?;
                    set_status(&tx, id, "released", now_ms)?;
                }
                tx.commit()?;
                if !due.is_empty() {
                    publish_levels(conn);
                }
                Ok(due)
            })
            .await
    }

    /// Stock summed over every product.
    pub async fn totals(&self) -> Result<StockTotals, InventoryError> {
        self.db.run("stock_totals", |conn| Ok(totals(conn)?)).await
    }

    /// Products whose counts do not add up to their initial stock (always empty: the schema
    /// refuses such rows; reconciliation checks it anyway).
    pub async fn invariant_violations(&self) -> Result<Vec<String>, InventoryError> {
        self.db
            .run("check_invariant", |conn| {
                let mut select = conn.prepare(
                    "SELECT product_id FROM stock
                     WHERE available + reserved + sold != initial
                        OR available < 0 OR reserved < 0 OR sold < 0",
                )?;
                let rows = select.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<String>, _>>()?)
            })
            .await
    }
}

/// A reservation as stored.
struct Stored {
    reservation: Reservation,
    tombstone: bool,
}

/// The same id again: the same lines replay the reservation whatever its status; a tombstone
/// refuses (the caller already gave up on this id); other lines conflict.
fn replay(existing: Stored, request: &ReserveStock) -> Result<Reserved, InventoryError> {
    if existing.tombstone {
        return Err(InventoryError::Released(request.id.to_string()));
    }
    let stored = canonical(
        existing
            .reservation
            .items
            .iter()
            .map(|l| (l.product_id.clone(), l.quantity)),
    );
    if stored == request.canonical_lines() {
        Ok(Reserved::Existing(existing.reservation))
    } else {
        Err(InventoryError::Conflict(request.id.to_string()))
    }
}

fn load(conn: &Connection, id: &str) -> Result<Option<Stored>, InventoryError> {
    let head = conn
        .prepare_cached(
            "SELECT status, tombstone, expires_at_ms FROM reservations WHERE reservation_id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .optional()?;
    let Some((status, tombstone, expires_at_ms)) = head else {
        return Ok(None);
    };
    let status = match status.as_str() {
        "held" => ReservationStatus::Held,
        "committed" => ReservationStatus::Committed,
        "released" => ReservationStatus::Released,
        other => {
            return Err(InventoryError::Inconsistent(format!(
                "reservation {id} has status {other:?}"
            )));
        }
    };
    Ok(Some(Stored {
        reservation: Reservation {
            reservation_id: id.to_owned(),
            status,
            items: lines(conn, id)?,
            expires_at_ms,
        },
        tombstone,
    }))
}

fn lines(conn: &Connection, id: &str) -> Result<Vec<LineItem>, InventoryError> {
    let mut select = conn.prepare_cached(
        "SELECT product_id, quantity FROM reservation_lines WHERE reservation_id = ?1 ORDER BY line_no",
    )?;
    let rows = select.query_map([id], |r| {
        Ok(LineItem {
            product_id: r.get(0)?,
            quantity: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Held units back to available.
fn give_back(conn: &Connection, items: &[LineItem]) -> Result<(), InventoryError> {
    for line in items {
        move_units(
            conn,
            "UPDATE stock SET reserved = reserved - ?2, available = available + ?2
             WHERE product_id = ?1 AND reserved >= ?2",
            line,
        )?;
    }
    Ok(())
}

/// Runs one stock update (`?1` product, `?2` units) that must touch exactly one row.
fn move_units(conn: &Connection, sql: &str, line: &LineItem) -> Result<(), InventoryError> {
    let moved = conn
        .prepare_cached(sql)?
        .execute(params![line.product_id, line.quantity])?;
    if moved == 1 {
        Ok(())
    } else {
        Err(InventoryError::Inconsistent(format!(
            "{} does not have {} reserved units to move",
            line.product_id, line.quantity
        )))
    }
}

fn set_status(
    conn: &Connection,
    id: &str,
    status: &str,
    now_ms: i64,
) -> Result<(), InventoryError> {
    conn.prepare_cached(
        "UPDATE reservations SET status = ?2, updated_at_ms = ?3 WHERE reservation_id = ?1",
    )?
    .execute(params![id, status, now_ms])?;
    Ok(())
}

fn stock_level(r: &rusqlite::Row<'_>) -> rusqlite::Result<StockLevel> {
    Ok(StockLevel {
        product_id: r.get(0)?,
        available: r.get(1)?,
        reserved: r.get(2)?,
        sold: r.get(3)?,
    })
}

fn totals(conn: &Connection) -> rusqlite::Result<StockTotals> {
    conn.query_row(
        "SELECT COALESCE(SUM(available), 0), COALESCE(SUM(reserved), 0), COALESCE(SUM(sold), 0),
                COUNT(*), COALESCE(SUM(available = 0), 0)
         FROM stock",
        [],
        |r| {
            let n = |i: usize| r.get::<_, i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
            Ok(StockTotals {
                available: n(0)?,
                reserved: n(1)?,
                sold: n(2)?,
                products: n(3)?,
                out_of_stock: n(4)?,
            })
        },
    )
}

/// Sets the level gauges from the state just committed. Runs under the connection's lock, so
/// gauges are set in commit order. A failure here must not fail the change (it is committed),
/// so it is only logged; the next sweep sets the gauges again.
fn publish_levels(conn: &Connection) {
    match totals(conn) {
        Ok(t) => metrics::levels(&t),
        Err(e) => tracing::warn!(error = %e, "cannot read stock totals for the gauges"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiary_wire::shop::ReserveRequest;

    const NOW: i64 = 1_700_000_000_000;
    const HOLD: i64 = 600_000;

    fn pid(id: &str) -> ProductId {
        ProductId::parse(id).expect("product id")
    }

    fn rid(id: &str) -> ReservationId {
        ReservationId::parse(id).expect("reservation id")
    }

    fn req(id: &str, items: &[(&str, u32)]) -> ReserveStock {
        ReserveStock::parse(ReserveRequest {
            reservation_id: id.to_owned(),
            items: items
                .iter()
                .map(|(p, q)| LineItem {
                    product_id: (*p).to_owned(),
                    quantity: *q,
                })
                .collect(),
        })
        .expect("valid request")
    }

    /// A store with BK-0001 (10 units), MU-0001 (3) and VI-0001 (0).
    async fn store(dir: &Path) -> InventoryStore {
        let s = InventoryStore::open(dir).expect("open");
        s.seed(vec![
            (pid("BK-0001"), 10),
            (pid("MU-0001"), 3),
            (pid("VI-0001"), 0),
        ])
        .await
        .expect("seed");
        s
    }

    async fn level(s: &InventoryStore, id: &str) -> (u32, u32, u32) {
        let l = s.stock(pid(id)).await.expect("read").expect("known");
        (l.available, l.reserved, l.sold)
    }

    #[tokio::test]
    async fn seeding_adds_new_products_and_keeps_existing_counts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        s.reserve(req("r1", &[("BK-0001", 4)]), NOW, HOLD)
            .await
            .expect("reserve");
        let added = s
            .seed(vec![(pid("BK-0001"), 10), (pid("BK-0002"), 7)])
            .await
            .expect("reseed");
        assert_eq!(added, 1);
        assert_eq!(level(&s, "BK-0001").await, (6, 4, 0));
        assert_eq!(level(&s, "BK-0002").await, (7, 0, 0));
        let all = s.all_stock().await.expect("all");
        let ids: Vec<&str> = all.iter().map(|l| l.product_id.as_str()).collect();
        assert_eq!(ids, ["BK-0001", "BK-0002", "MU-0001", "VI-0001"]);
    }

    #[tokio::test]
    async fn reserving_holds_units_and_replays_by_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let first = s
            .reserve(req("r1", &[("BK-0001", 2), ("MU-0001", 3)]), NOW, HOLD)
            .await
            .expect("reserve");
        let Reserved::Created(created) = first else {
            panic!("expected a new reservation, got {first:?}");
        };
        assert_eq!(created.status, ReservationStatus::Held);
        assert_eq!(created.expires_at_ms, NOW + HOLD);
        assert_eq!(level(&s, "BK-0001").await, (8, 2, 0));
        assert_eq!(level(&s, "MU-0001").await, (0, 3, 0));
        // Same lines in another order: the same reservation, nothing moves.
        let again = s
            .reserve(req("r1", &[("MU-0001", 3), ("BK-0001", 2)]), NOW + 5, HOLD)
            .await
            .expect("replay");
        assert_eq!(again, Reserved::Existing(created.clone()));
        assert_eq!(level(&s, "BK-0001").await, (8, 2, 0));
        let err = s
            .reserve(req("r1", &[("BK-0001", 1)]), NOW, HOLD)
            .await
            .expect_err("other lines");
        assert!(
            matches!(err, InventoryError::Conflict(ref id) if id == "r1"),
            "{err}"
        );
        assert_eq!(s.reservation(rid("r1")).await.expect("read"), Some(created));
        assert_eq!(s.reservation(rid("nope")).await.expect("read"), None);
    }

    #[tokio::test]
    async fn a_shortage_on_any_line_reserves_nothing_and_names_the_products() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let err = s
            .reserve(
                req("r1", &[("BK-0001", 2), ("MU-0001", 4), ("VI-0001", 1)]),
                NOW,
                HOLD,
            )
            .await
            .expect_err("short");
        let InventoryError::OutOfStock(short) = &err else {
            panic!("expected out of stock, got {err}");
        };
        let ids: Vec<&str> = short.iter().map(|s| s.product_id.as_str()).collect();
        assert_eq!(ids, ["MU-0001", "VI-0001"]);
        assert!(
            err.to_string()
                .contains("MU-0001 (3 available, 4 requested)"),
            "{err}"
        );
        assert_eq!(level(&s, "BK-0001").await, (10, 0, 0));
        // Nothing was recorded: the id is free to succeed later.
        assert_eq!(s.reservation(rid("r1")).await.expect("read"), None);
        let err = s
            .reserve(req("r2", &[("BK-0001", 1), ("BK-0999", 1)]), NOW, HOLD)
            .await
            .expect_err("unknown");
        assert!(
            matches!(err, InventoryError::UnknownProducts(ref ids) if ids == &["BK-0999"]),
            "{err}"
        );
        assert_eq!(level(&s, "BK-0001").await, (10, 0, 0));
    }

    #[tokio::test]
    async fn commit_sells_once_and_refuses_released_or_unknown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        s.reserve(req("r1", &[("BK-0001", 3)]), NOW, HOLD)
            .await
            .expect("reserve");
        let (r, change) = s.commit(rid("r1"), NOW + 1).await.expect("commit");
        assert_eq!(
            (r.status, change),
            (ReservationStatus::Committed, Change::Applied)
        );
        assert_eq!(level(&s, "BK-0001").await, (7, 0, 3));
        let (r, change) = s.commit(rid("r1"), NOW + 2).await.expect("again");
        assert_eq!(
            (r.status, change),
            (ReservationStatus::Committed, Change::AlreadyDone)
        );
        assert_eq!(level(&s, "BK-0001").await, (7, 0, 3));
        let err = s.release(rid("r1"), NOW + 3).await.expect_err("committed");
        assert!(matches!(err, InventoryError::Committed(_)), "{err}");
        assert!(matches!(
            s.commit(rid("ghost"), NOW).await,
            Err(InventoryError::NotFound(_))
        ));
        s.reserve(req("r2", &[("BK-0001", 1)]), NOW, HOLD)
            .await
            .expect("reserve");
        s.release(rid("r2"), NOW).await.expect("release");
        assert!(matches!(
            s.commit(rid("r2"), NOW).await,
            Err(InventoryError::Released(_))
        ));
        assert_eq!(level(&s, "BK-0001").await, (7, 0, 3));
    }

    #[tokio::test]
    async fn release_returns_units_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        s.reserve(req("r1", &[("BK-0001", 3), ("MU-0001", 1)]), NOW, HOLD)
            .await
            .expect("reserve");
        let (r, change) = s.release(rid("r1"), NOW + 1).await.expect("release");
        assert_eq!(
            (r.status, change),
            (ReservationStatus::Released, Change::Applied)
        );
        assert_eq!(r.items.len(), 2);
        assert_eq!(level(&s, "BK-0001").await, (10, 0, 0));
        assert_eq!(level(&s, "MU-0001").await, (3, 0, 0));
        let (_, change) = s.release(rid("r1"), NOW + 2).await.expect("again");
        assert_eq!(change, Change::AlreadyDone);
        assert_eq!(level(&s, "BK-0001").await, (10, 0, 0));
        // The same request again answers the released reservation; it does not hold again.
        let replay = s
            .reserve(req("r1", &[("BK-0001", 3), ("MU-0001", 1)]), NOW + 3, HOLD)
            .await
            .expect("replay");
        assert!(
            matches!(replay, Reserved::Existing(ref r) if r.status == ReservationStatus::Released),
            "{replay:?}"
        );
        assert_eq!(level(&s, "BK-0001").await, (10, 0, 0));
    }

    #[tokio::test]
    async fn releasing_an_unknown_id_tombstones_it_against_a_late_reserve() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let (r, change) = s.release(rid("late"), NOW).await.expect("tombstone");
        assert_eq!(change, Change::Tombstoned);
        assert_eq!(r.status, ReservationStatus::Released);
        assert!(r.items.is_empty());
        let (_, change) = s.release(rid("late"), NOW + 1).await.expect("again");
        assert_eq!(change, Change::AlreadyDone);
        let err = s
            .reserve(req("late", &[("BK-0001", 2)]), NOW + 2, HOLD)
            .await
            .expect_err("tombstoned");
        assert!(
            matches!(err, InventoryError::Released(ref id) if id == "late"),
            "{err}"
        );
        assert!(matches!(
            s.commit(rid("late"), NOW).await,
            Err(InventoryError::Released(_))
        ));
        assert_eq!(level(&s, "BK-0001").await, (10, 0, 0));
    }

    #[tokio::test]
    async fn expired_holds_are_released_by_the_sweep() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        s.reserve(req("early", &[("BK-0001", 2)]), NOW, 1_000)
            .await
            .expect("reserve");
        s.reserve(req("later", &[("BK-0001", 3)]), NOW, 5_000)
            .await
            .expect("reserve");
        s.reserve(req("sold", &[("MU-0001", 1)]), NOW, 1_000)
            .await
            .expect("reserve");
        s.commit(rid("sold"), NOW + 10).await.expect("commit");
        assert!(s.expire_due(NOW + 999).await.expect("sweep").is_empty());
        assert_eq!(s.expire_due(NOW + 1_000).await.expect("sweep"), ["early"]);
        assert_eq!(level(&s, "BK-0001").await, (7, 3, 0));
        assert!(s.expire_due(NOW + 1_000).await.expect("sweep").is_empty());
        assert_eq!(s.expire_due(NOW + 60_000).await.expect("sweep"), ["later"]);
        assert_eq!(level(&s, "BK-0001").await, (10, 0, 0));
        // Committed reservations never expire.
        assert_eq!(level(&s, "MU-0001").await, (2, 0, 1));
        let early = s
            .reservation(rid("early"))
            .await
            .expect("read")
            .expect("known");
        assert_eq!(early.status, ReservationStatus::Released);
        assert!(matches!(
            s.commit(rid("early"), NOW + 2_000).await,
            Err(InventoryError::Released(_))
        ));
    }

    #[tokio::test]
    async fn counts_always_add_up_to_the_initial_stock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        // A deterministic mix of every operation, including refusals.
        let mut x: u64 = 42;
        for i in 0..200 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let id = format!("r{}", (x >> 33) % 40);
            let product =
                ["BK-0001", "MU-0001", "VI-0001"][usize::try_from((x >> 20) % 3).unwrap_or(0)];
            let qty = u32::try_from((x >> 40) % 4).unwrap_or(0) + 1;
            let _ = match (x >> 50) % 4 {
                0 | 1 => s
                    .reserve(req(&id, &[(product, qty)]), NOW + i, 50)
                    .await
                    .map(drop),
                2 => s.commit(rid(&id), NOW + i).await.map(drop),
                _ => s.release(rid(&id), NOW + i).await.map(drop),
            };
            if i % 25 == 0 {
                s.expire_due(NOW + i).await.expect("sweep");
            }
        }
        assert!(s.invariant_violations().await.expect("check").is_empty());
        let t = s.totals().await.expect("totals");
        assert_eq!(t.available + t.reserved + t.sold, 13);
        assert_eq!(t.products, 3);
        // Held units equal the sum of open reservations' lines.
        let held: i64 =
            s.db.run("held_units", |c| {
                c.query_row(
                    "SELECT COALESCE(SUM(l.quantity), 0) FROM reservation_lines l
                     JOIN reservations r USING (reservation_id) WHERE r.status = 'held'",
                    [],
                    |r| r.get(0),
                )
                .map_err(StoreError::from)
            })
            .await
            .expect("held");
        assert_eq!(u64::try_from(held).unwrap_or(u64::MAX), t.reserved);
    }

    #[tokio::test]
    async fn the_schema_refuses_counts_that_do_not_add_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path()).await;
        let result =
            s.db.run("corrupt", |c| {
                c.execute(
                    "UPDATE stock SET sold = sold + 1 WHERE product_id = 'BK-0001'",
                    [],
                )
                .map_err(StoreError::from)
            })
            .await;
        assert!(result.is_err());
        assert_eq!(level(&s, "BK-0001").await, (10, 0, 0));
    }

    #[tokio::test]
    async fn concurrent_reservations_never_oversell_even_across_connections() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = store(dir.path()).await;
        // A second connection on the same file: as a second process would be.
        let b = InventoryStore::open(dir.path()).expect("second connection");
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40 {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.spawn(async move {
                s.reserve(req(&format!("c{i}"), &[("MU-0001", 1)]), NOW, HOLD)
                    .await
            });
        }
        let (mut held, mut refused) = (0, 0);
        while let Some(joined) = tasks.join_next().await {
            match joined.expect("task") {
                Ok(Reserved::Created(_)) => held += 1,
                Err(InventoryError::OutOfStock(_)) => refused += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((held, refused), (3, 37));
        assert_eq!(level(&a, "MU-0001").await, (0, 3, 0));
        assert_eq!(level(&b, "MU-0001").await, (0, 3, 0));
    }

    #[tokio::test]
    async fn data_survives_reopening_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let s = store(dir.path()).await;
            s.reserve(req("keep", &[("BK-0001", 4)]), NOW, HOLD)
                .await
                .expect("reserve");
            s.commit(rid("keep"), NOW + 1).await.expect("commit");
            s.release(rid("tomb"), NOW + 2).await.expect("tombstone");
        }
        let s = store(dir.path()).await;
        assert_eq!(level(&s, "BK-0001").await, (6, 0, 4));
        let keep = s
            .reservation(rid("keep"))
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(keep.status, ReservationStatus::Committed);
        assert!(matches!(
            s.reserve(req("tomb", &[("BK-0001", 1)]), NOW, HOLD).await,
            Err(InventoryError::Released(_))
        ));
    }
}
