//! What the model learned from, durably: `<data dir>/recommendations.sqlite3`.
//!
//! # Tables
//! - `baskets` — the product ids of each order learned, keyed by `order_id` (an order is
//!   learned once, whatever arrives twice). At start-up the model is rebuilt from them, so a
//!   restart forgets nothing.
//! - `inbox` — processed message ids ([`apiary_store::inbox`]), in the basket's transaction.

use std::path::Path;

use apiary_bus::Effect;
use apiary_store::rusqlite::{TransactionBehavior, params};
use apiary_store::{Db, M, StoreError, inbox};

const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
CREATE TABLE baskets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL UNIQUE,
    products TEXT NOT NULL,
    learned_at_ms INTEGER NOT NULL
) STRICT;
"#,
    ),
    M::up(inbox::MIGRATION),
];

/// The basket store. Cheap to clone (one shared connection).
#[derive(Debug, Clone)]
pub struct BasketStore {
    db: Db,
}

impl BasketStore {
    /// Opens (creating and migrating if needed) `<data_dir>/recommendations.sqlite3`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: Db::open(data_dir, crate::SERVICE.name, MIGRATIONS)?,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Records `order_id`'s basket unless the message (or the order) was seen: `Applied` means
    /// learn it now.
    pub async fn record(
        &self,
        message_id: String,
        order_id: String,
        products: Vec<String>,
        now_ms: i64,
    ) -> Result<Effect, StoreError> {
        let products = products.join(" ");
        self.db
            .run("record_basket", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if !inbox::first_delivery(&tx, &message_id, now_ms)? {
                    return Ok(Effect::Duplicate);
                }
                let inserted = tx
                    .prepare_cached(
                        "INSERT INTO baskets (order_id, products, learned_at_ms) VALUES (?1, ?2, ?3)
                         ON CONFLICT (order_id) DO NOTHING",
                    )?
                    .execute(params![order_id, products, now_ms])?;
                tx.commit()?;
                Ok(if inserted == 1 {
                    Effect::Applied
                } else {
                    Effect::Duplicate
                })
            })
            .await
    }

    /// Every basket, oldest first (the model is rebuilt from them at start-up).
    pub async fn all(&self) -> Result<Vec<Vec<String>>, StoreError> {
        self.db
            .run("all_baskets", |conn| {
                let mut select = conn.prepare("SELECT products FROM baskets ORDER BY seq")?;
                let rows = select.query_map([], |r| r.get::<_, String>(0))?;
                let mut baskets = Vec::new();
                for row in rows {
                    baskets.push(row?.split(' ').map(str::to_owned).collect());
                }
                Ok(baskets)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_order_is_recorded_once_and_read_back_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BasketStore::open(dir.path()).expect("open");
        let basket = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let r = |m: &str, o: &str, ids: &[&str]| store.record(m.into(), o.into(), basket(ids), 1);
        assert_eq!(
            r("m-1", "o-1", &["BK-0001", "MU-0002"])
                .await
                .expect("record"),
            Effect::Applied
        );
        assert_eq!(
            r("m-1", "o-1", &["BK-0001", "MU-0002"])
                .await
                .expect("again"),
            Effect::Duplicate
        );
        assert_eq!(
            r("m-2", "o-1", &["BK-0001"]).await.expect("same order"),
            Effect::Duplicate
        );
        assert_eq!(
            r("m-3", "o-2", &["VI-0003"]).await.expect("record"),
            Effect::Applied
        );
        drop(store);
        let reopened = BasketStore::open(dir.path()).expect("reopen");
        assert_eq!(
            reopened.all().await.expect("all"),
            vec![basket(&["BK-0001", "MU-0002"]), basket(&["VI-0003"])]
        );
    }
}
