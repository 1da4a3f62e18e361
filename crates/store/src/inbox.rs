//! The consumer inbox: the message ids a consumer has processed, recorded in the same
//! transaction as the message's effect. A redelivery (the broker re-sends what was not acked
//! before a crash) or a duplicate publish (the outbox relay re-sends what it did not see
//! confirmed) finds its id here and has no second effect — at-least-once delivery, exactly-once
//! effects.
//!
//! A service adds [`MIGRATION`] to its migrations, then, inside the effect's transaction:
//!
//! ```ignore
//! if !inbox::first_delivery(&tx, &message.message_id, now_ms)? {
//!     return Ok(Effect::Duplicate); // the transaction is dropped: nothing written
//! }
//! // ... the effect ...
//! tx.commit()?;
//! ```

use rusqlite::{Connection, Transaction, params};

use crate::{Db, StoreError};

/// The `inbox` table. Rows older than [`KEEP_MS`] are pruned ([`prune`]): the broker does not
/// hold a message that long, and the outbox only re-sends unconfirmed rows, which it retries
/// within seconds.
pub const MIGRATION: &str = r#"
CREATE TABLE inbox (
    message_id TEXT PRIMARY KEY,
    processed_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX inbox_age ON inbox (processed_at_ms);
"#;

/// How long processed ids are remembered: a week.
pub const KEEP_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// Records `message_id` as processed; `false` when it already was (do nothing else).
pub fn first_delivery(
    tx: &Transaction<'_>,
    message_id: &str,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO inbox (message_id, processed_at_ms) VALUES (?1, ?2)
             ON CONFLICT (message_id) DO NOTHING",
        )?
        .execute(params![message_id, now_ms])?;
    Ok(inserted == 1)
}

/// Forgets ids processed before `before_ms`; how many.
pub fn prune(conn: &Connection, before_ms: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM inbox WHERE processed_at_ms < ?1")?
        .execute([before_ms])
}

/// How often [`keep_pruned`] prunes.
pub const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Forgets ids older than [`KEEP_MS`] in `db` now and every [`PRUNE_EVERY`], until the task is
/// dropped: a consumer's background task. A failed prune is logged and tried next time.
pub async fn keep_pruned(db: Db) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    loop {
        tick.tick().await;
        let before = crate::now_ms() - KEEP_MS;
        let pruned = db
            .run("prune_inbox", move |conn| {
                prune(conn, before).map_err(StoreError::from)
            })
            .await;
        match pruned {
            Ok(n) if n > 0 => tracing::info!(pruned = n, "inbox ids older than a week forgotten"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "inbox prune failed; trying again later"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_processed_once_and_a_rolled_back_effect_leaves_no_trace() {
        let mut conn = Connection::open_in_memory().expect("sqlite");
        conn.execute_batch(MIGRATION).expect("migrate");

        let tx = conn.transaction().expect("tx");
        assert!(first_delivery(&tx, "m-1", 10).expect("insert"));
        tx.commit().expect("commit");

        let tx = conn.transaction().expect("tx");
        assert!(!first_delivery(&tx, "m-1", 20).expect("duplicate"));
        drop(tx);

        // The effect failed and rolled back: the id is not recorded, so a retry processes it.
        let tx = conn.transaction().expect("tx");
        assert!(first_delivery(&tx, "m-2", 30).expect("insert"));
        drop(tx);
        let tx = conn.transaction().expect("tx");
        assert!(first_delivery(&tx, "m-2", 40).expect("retry is first"));
        tx.commit().expect("commit");

        assert_eq!(prune(&conn, 15).expect("prune"), 1);
        let tx = conn.transaction().expect("tx");
        assert!(first_delivery(&tx, "m-1", 50).expect("forgotten"));
    }
}
