//! The transactional outbox: each new order's `order.placed` event, written in the order's own
//! transaction, read back by the [`crate::relay`] in order and marked sent once the broker has
//! confirmed it. A broker outage never fails a checkout: rows wait here and drain when the
//! broker returns. Sent rows are kept for an hour (to look at), then pruned.

use apiary_bus::Outgoing;
use apiary_store::rusqlite::{Transaction, params};
use apiary_telemetry::messaging::Carrier;
use apiary_wire::events::OrderPlaced;
use apiary_wire::shop::Order;

use crate::store::{OrderStore, OrdersError};

/// Sent rows older than this are deleted.
pub const KEEP_SENT_MS: i64 = 60 * 60 * 1000;

/// An unsent row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub seq: i64,
    pub message: Outgoing,
    pub created_at_ms: i64,
}

/// The outbox's state, for the backlog gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    pub unsent: u64,
    /// `created_at_ms` of the oldest unsent row.
    pub oldest_ms: Option<i64>,
}

/// The event for `order`.
pub fn event(order: &Order) -> OrderPlaced {
    OrderPlaced {
        version: OrderPlaced::VERSION,
        order_id: order.order_id.clone(),
        cart_id: order.cart_id.clone(),
        lines: order.lines.clone(),
        shipping: order.shipping,
        total: order.total,
        placed_at_ms: order.created_at_ms,
    }
}

/// Writes `order`'s event into the outbox inside the order's transaction.
pub fn enqueue(tx: &Transaction<'_>, order: &Order, trace: &Carrier) -> Result<(), OrdersError> {
    let payload = serde_json::to_string(&event(order))?;
    let trace = serde_json::to_string(trace)?;
    tx.prepare_cached(
        "INSERT INTO outbox (message_id, routing_key, payload, trace, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        OrderPlaced::message_id(&order.order_id),
        OrderPlaced::NAME,
        payload,
        trace,
        order.created_at_ms,
    ])?;
    Ok(())
}

impl OrderStore {
    /// The oldest unsent rows, at most `limit`, in the order they were written.
    pub async fn pending(&self, limit: u32) -> Result<Vec<Pending>, OrdersError> {
        self.db()
            .run("outbox_pending", move |conn| {
                let mut select = conn.prepare_cached(
                    "SELECT seq, message_id, routing_key, payload, trace, created_at_ms
                     FROM outbox WHERE sent_at_ms IS NULL ORDER BY seq LIMIT ?1",
                )?;
                let rows = select.query_map([limit], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                })?;
                let mut pending = Vec::new();
                for row in rows {
                    let (seq, message_id, routing_key, payload, trace, created_at_ms) = row?;
                    // A trace that does not parse only loses the link to the request.
                    let trace: Carrier = serde_json::from_str(&trace).unwrap_or_default();
                    pending.push(Pending {
                        seq,
                        message: Outgoing {
                            message_id,
                            routing_key,
                            payload: payload.into_bytes(),
                            trace,
                        },
                        created_at_ms,
                    });
                }
                Ok(pending)
            })
            .await
    }

    /// Marks the row confirmed by the broker.
    pub async fn mark_sent(&self, seq: i64, now_ms: i64) -> Result<(), OrdersError> {
        self.db()
            .run("outbox_mark_sent", move |conn| {
                conn.prepare_cached("UPDATE outbox SET sent_at_ms = ?2 WHERE seq = ?1")?
                    .execute(params![seq, now_ms])?;
                Ok(())
            })
            .await
    }

    /// How many rows wait, and since when.
    pub async fn backlog(&self) -> Result<Backlog, OrdersError> {
        self.db()
            .run("outbox_backlog", |conn| {
                let (unsent, oldest) = conn
                    .prepare_cached(
                        "SELECT COUNT(*), MIN(created_at_ms) FROM outbox WHERE sent_at_ms IS NULL",
                    )?
                    .query_row([], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
                    })?;
                Ok(Backlog {
                    unsent: u64::try_from(unsent).unwrap_or(0),
                    oldest_ms: oldest,
                })
            })
            .await
    }

    /// Deletes rows sent before `before_ms`; how many.
    pub async fn prune_sent(&self, before_ms: i64) -> Result<usize, OrdersError> {
        self.db()
            .run("outbox_prune", move |conn| {
                Ok(conn
                    .prepare_cached(
                        "DELETE FROM outbox WHERE sent_at_ms IS NOT NULL AND sent_at_ms < ?1",
                    )?
                    .execute([before_ms])?)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::PlaceOrder;
    use crate::domain::tests::new_order;
    use crate::store::{OrderStore, Placed};

    const NOW: i64 = 1_700_000_000_000;

    async fn placed(store: &OrderStore, id: &str) {
        let order = PlaceOrder::parse(new_order(id)).expect("valid order");
        store.place(order, NOW).await.expect("place");
    }

    #[tokio::test]
    async fn each_new_order_writes_one_event_and_a_replay_writes_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = OrderStore::open(dir.path()).expect("open");
        placed(&store, "o-1").await;
        placed(&store, "o-2").await;
        let replay = PlaceOrder::parse(new_order("o-1")).expect("valid");
        assert!(matches!(
            store.place(replay, NOW + 5).await,
            Ok(Placed::Existing(_))
        ));

        let pending = store.pending(10).await.expect("pending");
        let ids: Vec<_> = pending
            .iter()
            .map(|p| p.message.message_id.as_str())
            .collect();
        assert_eq!(ids, ["order.placed/o-1", "order.placed/o-2"]);
        let event: apiary_wire::events::OrderPlaced =
            serde_json::from_slice(&pending[0].message.payload).expect("the payload is the event");
        assert_eq!(event.order_id, "o-1");
        assert_eq!(event.placed_at_ms, NOW);
        assert!(!event.lines.is_empty());
        let backlog = store.backlog().await.expect("backlog");
        assert_eq!((backlog.unsent, backlog.oldest_ms), (2, Some(NOW)));
    }

    #[tokio::test]
    async fn sent_rows_leave_the_backlog_and_are_pruned_later() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = OrderStore::open(dir.path()).expect("open");
        placed(&store, "o-1").await;
        placed(&store, "o-2").await;
        let first = store.pending(1).await.expect("pending").remove(0);
        store.mark_sent(first.seq, NOW + 10).await.expect("mark");
        let rest: Vec<_> = store
            .pending(10)
            .await
            .expect("pending")
            .into_iter()
            .map(|p| p.seq)
            .collect();
        assert_eq!(rest.len(), 1);
        assert_ne!(rest[0], first.seq);
        assert_eq!(store.backlog().await.expect("backlog").unsent, 1);
        assert_eq!(
            store.prune_sent(NOW + 5).await.expect("prune"),
            0,
            "not old enough"
        );
        assert_eq!(store.prune_sent(NOW + 11).await.expect("prune"), 1);
        assert_eq!(
            store.backlog().await.expect("backlog").unsent,
            1,
            "unsent rows are never pruned"
        );
    }

    #[tokio::test]
    async fn the_outbox_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = OrderStore::open(dir.path()).expect("open");
            placed(&store, "o-1").await;
        }
        let reopened = OrderStore::open(dir.path()).expect("reopen");
        assert_eq!(reopened.pending(10).await.expect("pending").len(), 1);
    }
}
