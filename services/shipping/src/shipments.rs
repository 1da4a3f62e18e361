//! Fulfilment: one shipment per order, created from the order's `order.placed` event and
//! shipped by the (simulated) warehouse a while later. `<data dir>/shipping.sqlite3`.
//!
//! # Tables
//! - `shipments` — keyed by `order_id`: an order is shipped once, whatever arrives twice.
//! - `inbox` — processed message ids ([`apiary_store::inbox`]), in the shipment's transaction.

use std::path::Path;

use apiary_bus::Effect;
use apiary_store::rusqlite::{OptionalExtension, TransactionBehavior, params};
use apiary_store::{Db, M, StoreError, inbox};
use apiary_wire::events::OrderPlaced;
use apiary_wire::shop::{Shipment, ShipmentSummary};

pub const PENDING: &str = "pending";
pub const SHIPPED: &str = "shipped";

const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
CREATE TABLE shipments (
    order_id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('pending', 'shipped')),
    units INTEGER NOT NULL CHECK (units > 0),
    tracking_id TEXT,
    placed_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    shipped_at_ms INTEGER
) STRICT;
CREATE INDEX shipments_pending ON shipments (created_at_ms) WHERE status = 'pending';
"#,
    ),
    M::up(inbox::MIGRATION),
];

/// The shipments store. Cheap to clone (one shared connection).
#[derive(Debug, Clone)]
pub struct ShipmentStore {
    db: Db,
}

const COLUMNS: &str = "SELECT order_id, status, units, tracking_id, placed_at_ms, created_at_ms, shipped_at_ms FROM shipments";

fn row(r: &apiary_store::rusqlite::Row<'_>) -> apiary_store::rusqlite::Result<Shipment> {
    Ok(Shipment {
        order_id: r.get(0)?,
        status: r.get(1)?,
        units: r.get(2)?,
        tracking_id: r.get(3)?,
        placed_at_ms: r.get(4)?,
        created_at_ms: r.get(5)?,
        shipped_at_ms: r.get(6)?,
    })
}

impl ShipmentStore {
    /// Opens (creating and migrating if needed) `<data_dir>/shipping.sqlite3`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: Db::open(data_dir, crate::SERVICE.name, MIGRATIONS)?,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Creates the shipment for `event`'s order unless the message (or the order) was seen.
    pub async fn create(
        &self,
        message_id: String,
        event: &OrderPlaced,
        now_ms: i64,
    ) -> Result<Effect, StoreError> {
        let order_id = event.order_id.clone();
        let units: u32 = event.lines.iter().map(|l| l.quantity).sum();
        let placed_at_ms = event.placed_at_ms;
        self.db
            .run("create_shipment", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if !inbox::first_delivery(&tx, &message_id, now_ms)? {
                    return Ok(Effect::Duplicate);
                }
                let inserted = tx
                    .prepare_cached(
                        "INSERT INTO shipments (order_id, status, units, placed_at_ms, created_at_ms)
                         VALUES (?1, 'pending', ?2, ?3, ?4) ON CONFLICT (order_id) DO NOTHING",
                    )?
                    .execute(params![order_id, units.max(1), placed_at_ms, now_ms])?;
                tx.commit()?;
                Ok(if inserted == 1 { Effect::Applied } else { Effect::Duplicate })
            })
            .await
    }

    /// The shipment of `order_id`, if any.
    pub async fn get(&self, order_id: String) -> Result<Option<Shipment>, StoreError> {
        self.db
            .run("get_shipment", move |conn| {
                Ok(conn
                    .prepare_cached(&format!("{COLUMNS} WHERE order_id = ?1"))?
                    .query_row([order_id], row)
                    .optional()?)
            })
            .await
    }

    /// Ships every pending shipment created before `before_ms` (the warehouse's round); the
    /// shipped ones.
    pub async fn dispatch(&self, before_ms: i64, now_ms: i64) -> Result<Vec<Shipment>, StoreError> {
        self.db
            .run("dispatch_shipments", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.prepare_cached(
                    "UPDATE shipments SET status = 'shipped', shipped_at_ms = ?2,
                         tracking_id = 'APY' || upper(substr(hex(randomblob(6)), 1, 12))
                     WHERE status = 'pending' AND created_at_ms < ?1",
                )?
                .execute(params![before_ms, now_ms])?;
                let shipped = tx
                    .prepare_cached(&format!("{COLUMNS} WHERE shipped_at_ms = ?1"))?
                    .query_map([now_ms], row)?
                    .collect::<Result<Vec<_>, _>>()?;
                tx.commit()?;
                Ok(shipped)
            })
            .await
    }

    /// Pending and shipped counts.
    pub async fn summary(&self) -> Result<ShipmentSummary, StoreError> {
        self.db
            .run("shipment_summary", |conn| {
                let (pending, shipped) = conn
                    .prepare_cached(
                        "SELECT COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'shipped'), 0)
                         FROM shipments",
                    )?
                    .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
                Ok(ShipmentSummary {
                    pending: u64::try_from(pending).unwrap_or(0),
                    shipped: u64::try_from(shipped).unwrap_or(0),
                })
            })
            .await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn event(order_id: &str, quantity: u32) -> OrderPlaced {
        apiary_testkit::events::order_placed(order_id, &[("BK-0001", quantity)])
    }

    #[tokio::test]
    async fn one_shipment_per_order_then_the_warehouse_ships_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ShipmentStore::open(dir.path()).expect("open");
        let e = event("o-1", 3);
        assert_eq!(
            store.create("m-1".into(), &e, 100).await.expect("create"),
            Effect::Applied
        );
        assert_eq!(
            store.create("m-1".into(), &e, 110).await.expect("again"),
            Effect::Duplicate
        );
        // Another message for the same order (a second publish under a new id): still one.
        assert_eq!(
            store.create("m-9".into(), &e, 120).await.expect("other id"),
            Effect::Duplicate
        );

        let s = store
            .get("o-1".into())
            .await
            .expect("get")
            .expect("a shipment");
        assert_eq!(
            (s.status.as_str(), s.units, s.tracking_id),
            (PENDING, 3, None)
        );
        assert!(
            store.dispatch(100, 150).await.expect("dispatch").is_empty(),
            "not old enough"
        );
        let shipped = store.dispatch(101, 200).await.expect("dispatch");
        assert_eq!(shipped.len(), 1);
        let s = store
            .get("o-1".into())
            .await
            .expect("get")
            .expect("a shipment");
        assert_eq!(s.status, SHIPPED);
        assert_eq!(s.shipped_at_ms, Some(200));
        assert!(
            s.tracking_id
                .is_some_and(|t| t.starts_with("APY") && t.len() == 15)
        );
        let summary = store.summary().await.expect("summary");
        assert_eq!((summary.pending, summary.shipped), (0, 1));
        assert!(store.get("unknown".into()).await.expect("get").is_none());
    }
}
