//! The notifications service's durable state: `<data dir>/notifications.sqlite3`.
//!
//! # Tables
//! - `notifications` — one rendered confirmation per order event; `notification_id` grows.
//!   `message_id` is unique too: the same event can never be stored twice, inbox or not.
//! - `inbox` — processed message ids ([`apiary_store::inbox`]), written in the same
//!   transaction as the notification: a redelivered event finds its id and does nothing.

use std::path::Path;

use apiary_bus::Effect;
use apiary_store::rusqlite::{TransactionBehavior, params};
use apiary_store::{Db, M, StoreError, inbox};
use apiary_wire::events::OrderPlaced;
use apiary_wire::shop::Notification;

use crate::render::Rendered;

const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
CREATE TABLE notifications (
    notification_id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    placed_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX notifications_by_order ON notifications (order_id);
"#,
    ),
    M::up(inbox::MIGRATION),
];

/// The store. Cheap to clone (one shared connection).
#[derive(Debug, Clone)]
pub struct NotificationStore {
    db: Db,
}

impl NotificationStore {
    /// Opens (creating and migrating if needed) `<data_dir>/notifications.sqlite3`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: Db::open(data_dir, crate::SERVICE.name, MIGRATIONS)?,
        })
    }

    /// The database (the chassis's readiness check pings it).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stores the confirmation of `event` unless `message_id` was processed before.
    pub async fn record(
        &self,
        message_id: String,
        event: &OrderPlaced,
        message: Rendered,
        now_ms: i64,
    ) -> Result<Effect, StoreError> {
        let order_id = event.order_id.clone();
        let placed_at_ms = event.placed_at_ms;
        self.db
            .run("record_notification", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if !inbox::first_delivery(&tx, &message_id, now_ms)? {
                    return Ok(Effect::Duplicate);
                }
                tx.prepare_cached(
                    "INSERT INTO notifications
                         (message_id, order_id, recipient, subject, body, placed_at_ms, created_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    message_id,
                    order_id,
                    message.to,
                    message.subject,
                    message.body,
                    placed_at_ms,
                    now_ms
                ])?;
                tx.commit()?;
                Ok(Effect::Applied)
            })
            .await
    }

    /// Newest first, at most `limit`; only `order_id`'s when given.
    pub async fn list(
        &self,
        order_id: Option<String>,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        self.db
            .run("list_notifications", move |conn| {
                let mut select = conn.prepare_cached(
                    "SELECT notification_id, message_id, order_id, recipient, subject, body,
                            placed_at_ms, created_at_ms
                     FROM notifications WHERE ?1 IS NULL OR order_id = ?1
                     ORDER BY notification_id DESC LIMIT ?2",
                )?;
                let rows = select.query_map(params![order_id, limit], |r| {
                    Ok(Notification {
                        notification_id: r.get(0)?,
                        message_id: r.get(1)?,
                        order_id: r.get(2)?,
                        to: r.get(3)?,
                        subject: r.get(4)?,
                        body: r.get(5)?,
                        placed_at_ms: r.get(6)?,
                        created_at_ms: r.get(7)?,
                    })
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::render;

    pub(crate) fn event(order_id: &str) -> OrderPlaced {
        apiary_testkit::events::order_placed(order_id, &[("BK-0001", 1)])
    }

    #[tokio::test]
    async fn a_message_is_stored_once_however_often_it_arrives() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = NotificationStore::open(dir.path()).expect("open");
        let e = event("o-1");
        let first = store
            .record("order.placed/o-1".into(), &e, render::confirmation(&e), 10)
            .await
            .expect("record");
        let again = store
            .record("order.placed/o-1".into(), &e, render::confirmation(&e), 20)
            .await
            .expect("record");
        assert_eq!((first, again), (Effect::Applied, Effect::Duplicate));
        let other = event("o-2");
        store
            .record(
                "order.placed/o-2".into(),
                &other,
                render::confirmation(&other),
                30,
            )
            .await
            .expect("record");

        let all = store.list(None, 10).await.expect("list");
        assert_eq!(
            all.iter().map(|n| n.order_id.as_str()).collect::<Vec<_>>(),
            ["o-2", "o-1"]
        );
        let one = store.list(Some("o-1".into()), 10).await.expect("list");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].created_at_ms, 10);
        assert_eq!(one[0].placed_at_ms, 1);
    }
}
