//! The payment ledger: one row per idempotency key, in SQLite (`payment.sqlite3`).
//!
//! A key's row is created by its first charge (captured or declined) or by a void that found
//! nothing (a tombstone), and then only moves forward:
//!
//! ```text
//! (none) --charge--> captured --void--> voided
//! (none) --charge--> declined --void--> tombstoned
//! (none) ----------------void--------> tombstoned
//! ```
//!
//! Every change is one `BEGIN IMMEDIATE` transaction committed before the answer is sent, so
//! a charge the caller was told about survives a SIGKILL, and a void that raced a charge is
//! decided by whichever committed first. Only brand and last four digits are stored.

use apiary_store::rusqlite::{self, OptionalExtension, TransactionBehavior, params};
use apiary_store::{Db, M, StoreError};
use apiary_wire::shop::{Charge, ChargeStatus, VoidOutcome, VoidResult};
use apiary_wire::{Currency, Money};

use crate::domain::{Brand, DeclineReason, IdempotencyKey};

pub const MIGRATIONS: &[M<'static>] = &[M::up(
    "CREATE TABLE payment_keys (
        -- Insertion order: the ledger is listed oldest first by this.
        seq            INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key TEXT NOT NULL UNIQUE,
        state          TEXT NOT NULL
                       CHECK (state IN ('captured', 'voided', 'declined', 'tombstoned')),
        -- Set exactly when a charge was captured (and kept once voided).
        charge_id      TEXT UNIQUE,
        -- What the first request asked for; NULL for a key only ever voided.
        amount_minor   INTEGER,
        currency       TEXT,
        card_brand     TEXT,
        card_last4     TEXT,
        decline_code   TEXT,
        created_at_ms  INTEGER NOT NULL,
        voided_at_ms   INTEGER,
        CHECK ((state IN ('captured', 'voided')) = (charge_id IS NOT NULL))
    );
    CREATE INDEX payment_keys_by_state ON payment_keys (state, seq);",
)];

/// A charge request that passed validation, with the provider's verdict already taken.
#[derive(Debug, Clone)]
pub struct ChargeAttempt {
    pub key: IdempotencyKey,
    pub amount: Money,
    pub brand: Brand,
    pub last4: String,
    pub verdict: Result<(), DeclineReason>,
    /// Used only when this attempt is the key's first.
    pub new_charge_id: String,
    pub now_ms: i64,
}

/// The recorded answer for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Captured(Charge),
    Declined(DeclineReason),
}

/// Whether the answer was decided now or replayed (metrics count only the former).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    New(Answer),
    Replay(Answer),
}

/// Why a charge with a known key is refused.
#[derive(Debug, thiserror::Error)]
pub enum ChargeError {
    #[error("the idempotency key was used for another amount or card")]
    Conflict,
    #[error("the charge for this idempotency key was voided")]
    Voided,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ChargeError {
    fn from(e: rusqlite::Error) -> Self {
        ChargeError::Store(e.into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyState {
    Captured,
    Voided,
    Declined,
    Tombstoned,
}

impl KeyState {
    fn as_str(self) -> &'static str {
        match self {
            KeyState::Captured => "captured",
            KeyState::Voided => "voided",
            KeyState::Declined => "declined",
            KeyState::Tombstoned => "tombstoned",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "captured" => Some(KeyState::Captured),
            "voided" => Some(KeyState::Voided),
            "declined" => Some(KeyState::Declined),
            "tombstoned" => Some(KeyState::Tombstoned),
            _ => None,
        }
    }
}

/// One row, as read.
#[derive(Debug, Clone)]
struct KeyRow {
    key: String,
    state: KeyState,
    charge_id: Option<String>,
    amount: Option<Money>,
    brand: Option<String>,
    last4: Option<String>,
    decline: Option<DeclineReason>,
    created_at_ms: i64,
}

const COLUMNS: &str = "idempotency_key, state, charge_id, amount_minor, currency, card_brand, \
                       card_last4, decline_code, created_at_ms";

fn corrupt(column: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("unexpected {what} in the ledger").into(),
    )
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    let state: String = r.get(1)?;
    let amount_minor: Option<i64> = r.get(3)?;
    let currency: Option<String> = r.get(4)?;
    let amount = match (amount_minor, currency) {
        (Some(amount_minor), Some(code)) => Some(Money {
            amount_minor,
            currency: Currency::parse(&code).ok_or_else(|| corrupt(4, "currency"))?,
        }),
        _ => None,
    };
    let decline: Option<String> = r.get(7)?;
    Ok(KeyRow {
        key: r.get(0)?,
        state: KeyState::parse(&state).ok_or_else(|| corrupt(1, "state"))?,
        charge_id: r.get(2)?,
        amount,
        brand: r.get(5)?,
        last4: r.get(6)?,
        decline: match decline {
            Some(code) => {
                Some(DeclineReason::from_code(&code).ok_or_else(|| corrupt(7, "decline code"))?)
            }
            None => None,
        },
        created_at_ms: r.get(8)?,
    })
}

impl KeyRow {
    /// The charge of a captured or voided key.
    fn charge(&self) -> Option<Charge> {
        let status = match self.state {
            KeyState::Captured => ChargeStatus::Captured,
            KeyState::Voided => ChargeStatus::Voided,
            KeyState::Declined | KeyState::Tombstoned => return None,
        };
        Some(Charge {
            charge_id: self.charge_id.clone()?,
            idempotency_key: self.key.clone(),
            status,
            amount: self.amount?,
            card_brand: self.brand.clone().unwrap_or_default(),
            card_last4: self.last4.clone().unwrap_or_default(),
            created_at_ms: self.created_at_ms,
        })
    }

    /// The same request again: same amount, currency and card (by last four).
    fn matches(&self, attempt: &ChargeAttempt) -> bool {
        self.amount == Some(attempt.amount) && self.last4.as_deref() == Some(attempt.last4.as_str())
    }
}

fn find_key(conn: &rusqlite::Connection, key: &str) -> rusqlite::Result<Option<KeyRow>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM payment_keys WHERE idempotency_key = ?1"),
        [key],
        read_row,
    )
    .optional()
}

#[derive(Debug, Clone)]
pub struct PaymentStore {
    db: Db,
}

impl PaymentStore {
    /// Opens (creating and migrating if needed) `<data_dir>/payment.sqlite3`.
    pub fn open(data_dir: &std::path::Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: Db::open(data_dir, crate::SERVICE.name, MIGRATIONS)?,
        })
    }

    /// The database (the chassis's readiness check pings it).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Records `attempt` if its key is new, or replays / refuses by what the key holds.
    pub async fn charge(&self, attempt: ChargeAttempt) -> Result<Recorded, ChargeError> {
        self.db
            .run("charge", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if let Some(row) = find_key(&tx, attempt.key.as_str())? {
                    // A read-only outcome: dropping the transaction rolls back nothing.
                    return match row.state {
                        KeyState::Voided | KeyState::Tombstoned => Err(ChargeError::Voided),
                        _ if !row.matches(&attempt) => Err(ChargeError::Conflict),
                        KeyState::Captured => row
                            .charge()
                            .map(|c| Recorded::Replay(Answer::Captured(c)))
                            .ok_or_else(|| corrupt(2, "captured row without a charge").into()),
                        KeyState::Declined => row
                            .decline
                            .map(|d| Recorded::Replay(Answer::Declined(d)))
                            .ok_or_else(|| corrupt(7, "declined row without a reason").into()),
                    };
                }
                let (state, charge_id, decline) = match attempt.verdict {
                    Ok(()) => (
                        KeyState::Captured,
                        Some(attempt.new_charge_id.clone()),
                        None,
                    ),
                    Err(reason) => (KeyState::Declined, None, Some(reason.code())),
                };
                tx.execute(
                    "INSERT INTO payment_keys (idempotency_key, state, charge_id, amount_minor,
                        currency, card_brand, card_last4, decline_code, created_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        attempt.key.as_str(),
                        state.as_str(),
                        charge_id,
                        attempt.amount.amount_minor,
                        attempt.amount.currency.as_str(),
                        attempt.brand.as_str(),
                        attempt.last4,
                        decline,
                        attempt.now_ms,
                    ],
                )?;
                tx.commit()?;
                let answer = match (attempt.verdict, charge_id) {
                    (Err(reason), _) => Answer::Declined(reason),
                    (Ok(()), charge_id) => Answer::Captured(Charge {
                        charge_id: charge_id.unwrap_or_default(),
                        idempotency_key: attempt.key.as_str().to_owned(),
                        status: ChargeStatus::Captured,
                        amount: attempt.amount,
                        card_brand: attempt.brand.as_str().to_owned(),
                        card_last4: attempt.last4,
                        created_at_ms: attempt.now_ms,
                    }),
                };
                Ok(Recorded::New(answer))
            })
            .await
    }

    /// Voids the key's charge, or tombstones the key so it can never be charged. Returns the
    /// outcome and, for a void done now, the charge (for the voided-amount metric).
    pub async fn void(
        &self,
        key: IdempotencyKey,
        now_ms: i64,
    ) -> Result<(VoidResult, Option<Charge>), StoreError> {
        self.db
            .run("void", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let row = find_key(&tx, key.as_str())?;
                let result = |outcome, charge_id| VoidResult {
                    idempotency_key: key.as_str().to_owned(),
                    outcome,
                    charge_id,
                };
                let answer = match row {
                    None => {
                        tx.execute(
                            "INSERT INTO payment_keys (idempotency_key, state, created_at_ms, voided_at_ms)
                             VALUES (?1, 'tombstoned', ?2, ?2)",
                            params![key.as_str(), now_ms],
                        )?;
                        (result(VoidOutcome::NothingToVoid, None), None)
                    }
                    Some(row) => match row.state {
                        KeyState::Captured => {
                            tx.execute(
                                "UPDATE payment_keys SET state = 'voided', voided_at_ms = ?2
                                 WHERE idempotency_key = ?1",
                                params![key.as_str(), now_ms],
                            )?;
                            let charge = row.charge().map(|c| Charge {
                                status: ChargeStatus::Voided,
                                ..c
                            });
                            (result(VoidOutcome::Voided, row.charge_id), charge)
                        }
                        KeyState::Voided => (result(VoidOutcome::AlreadyVoided, row.charge_id), None),
                        KeyState::Declined => {
                            tx.execute(
                                "UPDATE payment_keys SET state = 'tombstoned', voided_at_ms = ?2
                                 WHERE idempotency_key = ?1",
                                params![key.as_str(), now_ms],
                            )?;
                            (result(VoidOutcome::NothingToVoid, None), None)
                        }
                        KeyState::Tombstoned => (result(VoidOutcome::NothingToVoid, None), None),
                    },
                };
                tx.commit()?;
                Ok(answer)
            })
            .await
    }

    pub async fn get_charge(&self, charge_id: String) -> Result<Option<Charge>, StoreError> {
        self.db
            .run("get_charge", move |conn| {
                let row = conn
                    .query_row(
                        &format!("SELECT {COLUMNS} FROM payment_keys WHERE charge_id = ?1"),
                        [charge_id],
                        read_row,
                    )
                    .optional()?;
                Ok(row.and_then(|r| r.charge()))
            })
            .await
    }

    /// Charges (captured or voided, or only those with `status`), oldest first, after the
    /// cursor `after_seq`, at most `limit`; with the cursor of the last one returned.
    pub async fn ledger(
        &self,
        status: Option<ChargeStatus>,
        after_seq: i64,
        limit: u32,
    ) -> Result<(Vec<Charge>, Option<i64>), StoreError> {
        // Fixed SQL per filter (no user text reaches the statement).
        let filter: &'static str = match status {
            None => "state IN ('captured', 'voided')",
            Some(ChargeStatus::Captured) => "state = 'captured'",
            Some(ChargeStatus::Voided) => "state = 'voided'",
        };
        self.db
            .run("ledger", move |conn| {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {COLUMNS}, seq FROM payment_keys WHERE {filter} AND seq > ?1
                     ORDER BY seq LIMIT ?2"
                ))?;
                let rows = stmt.query_map(params![after_seq, limit], |r| {
                    Ok((read_row(r)?, r.get::<_, i64>(9)?))
                })?;
                let mut charges = Vec::new();
                let mut last = None;
                for row in rows {
                    let (row, seq) = row?;
                    charges.extend(row.charge());
                    last = Some(seq);
                }
                Ok((charges, last))
            })
            .await
    }

    /// Forgets declined keys and tombstones (voids that found no charge) last touched before
    /// `older_than_ms`: they exist to answer a retry or refuse a late charge, which happen
    /// within seconds, not days. Charges (captured or voided) are the ledger and are kept.
    /// Returns how many went.
    pub async fn expire_keys(&self, older_than_ms: i64) -> Result<usize, StoreError> {
        self.db
            .run("expire_keys", move |conn| {
                Ok(conn.execute(
                    "DELETE FROM payment_keys WHERE state IN ('declined', 'tombstoned')
                       AND max(created_at_ms, coalesce(voided_at_ms, 0)) < ?1",
                    [older_than_ms],
                )?)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &std::path::Path) -> PaymentStore {
        PaymentStore::open(dir).expect("open")
    }

    fn attempt(
        key: &str,
        amount_minor: i64,
        last4: &str,
        verdict: Result<(), DeclineReason>,
    ) -> ChargeAttempt {
        ChargeAttempt {
            key: IdempotencyKey::parse(key).expect("key"),
            amount: Money {
                amount_minor,
                currency: Currency::EUR,
            },
            brand: Brand::Visa,
            last4: last4.to_owned(),
            verdict,
            new_charge_id: format!("ch_{key}_{amount_minor}"),
            now_ms: 1_000,
        }
    }

    #[tokio::test]
    async fn the_first_answer_is_new_and_the_same_request_replays_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        let first = store
            .charge(attempt("k1", 500, "4242", Ok(())))
            .await
            .expect("charge");
        let Recorded::New(Answer::Captured(charge)) = first else {
            panic!("expected a new capture, got {first:?}");
        };
        assert_eq!(charge.charge_id, "ch_k1_500");
        // A retry carries a fresh candidate id; the recorded one wins.
        let mut again = attempt("k1", 500, "4242", Ok(()));
        again.new_charge_id = "ch_other".to_owned();
        let replay = store.charge(again).await.expect("replay");
        assert_eq!(replay, Recorded::Replay(Answer::Captured(charge)));

        let declined = attempt("k2", 500, "0002", Err(DeclineReason::CardDeclined));
        assert_eq!(
            store.charge(declined.clone()).await.expect("decline"),
            Recorded::New(Answer::Declined(DeclineReason::CardDeclined))
        );
        assert_eq!(
            store.charge(declined).await.expect("replay"),
            Recorded::Replay(Answer::Declined(DeclineReason::CardDeclined))
        );
        assert_eq!(store.ledger(None, 0, 100).await.expect("ledger").0.len(), 1);
    }

    #[tokio::test]
    async fn another_amount_or_card_under_the_same_key_conflicts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        store
            .charge(attempt("k", 500, "4242", Ok(())))
            .await
            .expect("charge");
        for other in [
            attempt("k", 501, "4242", Ok(())),
            attempt("k", 500, "4444", Ok(())),
        ] {
            assert!(matches!(
                store.charge(other).await,
                Err(ChargeError::Conflict)
            ));
        }
    }

    #[tokio::test]
    async fn voids_move_keys_forward_and_refuse_later_charges() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        let key = |k: &str| IdempotencyKey::parse(k).expect("key");
        store
            .charge(attempt("paid", 500, "4242", Ok(())))
            .await
            .expect("charge");
        store
            .charge(attempt(
                "refused",
                500,
                "0002",
                Err(DeclineReason::CardDeclined),
            ))
            .await
            .expect("decline");

        let (first, voided) = store.void(key("paid"), 2_000).await.expect("void");
        assert_eq!(first.outcome, VoidOutcome::Voided);
        assert_eq!(voided.map(|c| c.status), Some(ChargeStatus::Voided));
        let (second, none) = store.void(key("paid"), 3_000).await.expect("void again");
        assert_eq!(second.outcome, VoidOutcome::AlreadyVoided);
        assert_eq!(second.charge_id, first.charge_id);
        assert!(none.is_none());

        for k in ["refused", "never-seen"] {
            let (r, _) = store.void(key(k), 2_000).await.expect("void");
            assert_eq!(r.outcome, VoidOutcome::NothingToVoid, "{k}");
            assert_eq!(r.charge_id, None);
            let (r, _) = store.void(key(k), 2_500).await.expect("void again");
            assert_eq!(r.outcome, VoidOutcome::NothingToVoid, "{k}");
        }
        for k in ["paid", "refused", "never-seen"] {
            let again = attempt(k, 500, "4242", Ok(()));
            assert!(
                matches!(store.charge(again).await, Err(ChargeError::Voided)),
                "{k}"
            );
        }
        let (ledger, _) = store.ledger(None, 0, 100).await.expect("ledger");
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger[0].status, ChargeStatus::Voided);
        assert!(
            store
                .ledger(Some(ChargeStatus::Captured), 0, 100)
                .await
                .expect("ledger")
                .0
                .is_empty()
        );
    }

    #[tokio::test]
    async fn the_ledger_pages_by_cursor() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        for i in 0..5 {
            store
                .charge(attempt(&format!("k{i}"), 100 + i, "4242", Ok(())))
                .await
                .expect("charge");
        }
        let (first, cursor) = store.ledger(None, 0, 2).await.expect("page 1");
        assert_eq!(first.len(), 2);
        let (second, cursor) = store
            .ledger(None, cursor.expect("cursor"), 2)
            .await
            .expect("page 2");
        assert_eq!(second[0].idempotency_key, "k2");
        let (third, cursor) = store
            .ledger(None, cursor.expect("cursor"), 2)
            .await
            .expect("page 3");
        assert_eq!(third.len(), 1);
        let (end, none) = store
            .ledger(None, cursor.expect("cursor"), 2)
            .await
            .expect("end");
        assert!(end.is_empty() && none.is_none());
    }

    #[tokio::test]
    async fn declined_keys_and_tombstones_expire_but_charges_stay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        store
            .charge(attempt("paid", 500, "4242", Ok(())))
            .await
            .expect("charge");
        store
            .charge(attempt(
                "refused",
                500,
                "0002",
                Err(DeclineReason::CardDeclined),
            ))
            .await
            .expect("decline");
        let key = |k: &str| IdempotencyKey::parse(k).expect("key");
        store.void(key("barred"), 1_000).await.expect("tombstone");
        // Nothing is older than the cut-off yet.
        assert_eq!(store.expire_keys(1_000).await.expect("expire"), 0);
        assert_eq!(store.expire_keys(1_001).await.expect("expire"), 2);
        // A forgotten key is a new key; the charge is still in the ledger.
        assert!(matches!(
            store.charge(attempt("barred", 500, "4242", Ok(()))).await,
            Ok(Recorded::New(Answer::Captured(_)))
        ));
        assert_eq!(store.ledger(None, 0, 100).await.expect("ledger").0.len(), 2);
    }
}
