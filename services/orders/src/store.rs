//! The orders service's durable state: `<data dir>/orders.sqlite3`.
//!
//! # Tables
//! - `orders` — one row per order. `seq` is `INTEGER PRIMARY KEY AUTOINCREMENT`: it grows with
//!   every order and is never reused, even after the newest row is deleted, so feed readers
//!   (`GET /orders?after_seq=`) can remember the last `seq` they saw. `order_id` is unique:
//!   it is the idempotency key.
//! - `order_lines` — the lines of each order, in the order they were sent.
//! - `outbox` — the `order.placed` event of each order, written in the same transaction as the
//!   order (a transactional outbox), with the trace context of the request that placed it;
//!   `sent_at_ms` is set once the broker confirmed it ([`crate::relay`]).
//!
//! # Transactions
//! Recording an order is one `BEGIN IMMEDIATE` transaction that checks for the id and inserts
//! the order and its lines, committed before the handler answers: a SIGKILL right after the
//! answer loses nothing, and a crash before the commit leaves nothing half-written. Because
//! SQLite has one writer at a time and `seq` is assigned inside that transaction, orders
//! become visible in `seq` order, so a feed reader never skips an order that commits later
//! with a smaller `seq`.

use std::collections::BTreeMap;
use std::path::Path;

use apiary_store::rusqlite::{self, Connection, OptionalExtension, TransactionBehavior, params};
use apiary_store::{Db, M, StoreError};
use apiary_wire::shop::{NewOrder, Order, OrderFeed, OrderLine, OrderSummary};
use apiary_wire::{Currency, Money};

use crate::domain::{FeedQuery, OrderId, PLACED, PlaceOrder};

const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
CREATE TABLE orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    cart_id TEXT NOT NULL,
    currency TEXT NOT NULL CHECK (length(currency) = 3),
    shipping_minor INTEGER NOT NULL CHECK (shipping_minor >= 0),
    total_minor INTEGER NOT NULL CHECK (total_minor > 0),
    units INTEGER NOT NULL CHECK (units > 0),
    charge_id TEXT NOT NULL,
    reservation_id TEXT NOT NULL,
    quote_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE order_lines (
    order_seq INTEGER NOT NULL REFERENCES orders (seq),
    line_no INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    title TEXT NOT NULL,
    unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor > 0),
    quantity INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    PRIMARY KEY (order_seq, line_no)
) STRICT;
"#,
    ),
    M::up(
        r#"
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    routing_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    trace TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    sent_at_ms INTEGER
) STRICT;
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at_ms IS NULL;
"#,
    ),
];

/// Why a store operation refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum OrdersError {
    #[error("order {0} was already placed with a different body")]
    Conflict(String),
    /// A stored row cannot be read back as an order (e.g. an unknown currency code).
    #[error("inconsistent order data: {0}")]
    Inconsistent(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An event could not be encoded (never with valid orders; kept rather than unwrapped).
    #[error("cannot encode an event: {0}")]
    Encode(#[from] serde_json::Error),
}

impl From<rusqlite::Error> for OrdersError {
    fn from(e: rusqlite::Error) -> Self {
        OrdersError::Store(StoreError::Sql(e))
    }
}

/// The answer to a place request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    /// Recorded now (201).
    Created(Order),
    /// The same order was placed before; this is the recorded one (200).
    Existing(Order),
}

/// The orders store. Cheap to clone (one shared connection).
#[derive(Debug, Clone)]
pub struct OrderStore {
    db: Db,
}

impl OrderStore {
    /// Opens (creating and migrating if needed) `<data_dir>/orders.sqlite3`.
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

    /// Records `order`, idempotently by `order_id`: the same body again answers the recorded
    /// order, another body under the same id is a conflict.
    ///
    /// A new order's `order.placed` event is written to the outbox in the same transaction,
    /// with the trace context of the calling span (the request), so the event exists exactly
    /// when the order does.
    pub async fn place(&self, order: PlaceOrder, now_ms: i64) -> Result<Placed, OrdersError> {
        let trace = apiary_telemetry::messaging::capture();
        self.db
            .run("place_order", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let existing_seq: Option<i64> = tx
                    .prepare_cached("SELECT seq FROM orders WHERE order_id = ?1")?
                    .query_row([order.order_id()], |r| r.get(0))
                    .optional()?;
                if let Some(seq) = existing_seq {
                    let existing = load(&tx, seq)?;
                    return if same_body(&existing, order.order()) {
                        Ok(Placed::Existing(existing))
                    } else {
                        Err(OrdersError::Conflict(order.order_id().to_owned()))
                    };
                }
                let units = order.units();
                let o = order.into_order();
                tx.prepare_cached(
                    "INSERT INTO orders (order_id, status, cart_id, currency, shipping_minor,
                         total_minor, units, charge_id, reservation_id, quote_id, created_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?
                .execute(params![
                    o.order_id,
                    PLACED,
                    o.cart_id,
                    o.total.currency.as_str(),
                    o.shipping.amount_minor,
                    o.total.amount_minor,
                    units,
                    o.charge_id,
                    o.reservation_id,
                    o.quote_id,
                    now_ms,
                ])?;
                let seq = tx.last_insert_rowid();
                for (line_no, line) in (0_i64..).zip(&o.lines) {
                    tx.prepare_cached(
                        "INSERT INTO order_lines
                             (order_seq, line_no, product_id, title, unit_price_minor, quantity)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![
                        seq,
                        line_no,
                        line.product_id,
                        line.title,
                        line.unit_price.amount_minor,
                        line.quantity,
                    ])?;
                }
                let order = Order {
                    order_id: o.order_id,
                    seq,
                    status: PLACED.to_owned(),
                    cart_id: o.cart_id,
                    lines: o.lines,
                    shipping: o.shipping,
                    total: o.total,
                    charge_id: o.charge_id,
                    reservation_id: o.reservation_id,
                    quote_id: o.quote_id,
                    created_at_ms: now_ms,
                };
                crate::outbox::enqueue(&tx, &order, &trace)?;
                tx.commit()?;
                Ok(Placed::Created(order))
            })
            .await
    }

    /// One order, `None` when unknown.
    pub async fn order(&self, id: OrderId) -> Result<Option<Order>, OrdersError> {
        self.db
            .run("get_order", move |conn| {
                let tx = conn.transaction()?;
                let seq: Option<i64> = tx
                    .prepare_cached("SELECT seq FROM orders WHERE order_id = ?1")?
                    .query_row([id.as_str()], |r| r.get(0))
                    .optional()?;
                let order = seq.map(|seq| load(&tx, seq)).transpose()?;
                tx.finish()?;
                Ok(order)
            })
            .await
    }

    /// Orders with `seq > after_seq`, ascending, at most `limit`.
    pub async fn feed(&self, query: FeedQuery) -> Result<OrderFeed, OrdersError> {
        self.db
            .run("order_feed", move |conn| {
                // One snapshot, so the lines match the orders even with a writer elsewhere.
                let tx = conn.transaction()?;
                let mut items = select_orders(
                    &tx,
                    &format!("{ORDER_COLUMNS} WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
                    params![query.after_seq, query.limit],
                )?;
                let mut lines = select_lines(
                    &tx,
                    "WHERE l.order_seq IN (SELECT seq FROM orders WHERE seq > ?1 ORDER BY seq LIMIT ?2)",
                    params![query.after_seq, query.limit],
                )?;
                tx.finish()?;
                for order in &mut items {
                    order.lines = lines.remove(&order.seq).unwrap_or_default();
                }
                let last_seq = items.last().map_or(query.after_seq, |o| o.seq);
                Ok(OrderFeed { items, last_seq })
            })
            .await
    }

    /// Orders, units and revenue (order totals) per currency, over every order.
    pub async fn summary(&self) -> Result<OrderSummary, OrdersError> {
        self.db
            .run("order_summary", |conn| {
                let tx = conn.transaction()?;
                let (orders, units) = tx.query_row(
                    "SELECT COUNT(*), COALESCE(SUM(units), 0) FROM orders",
                    [],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
                )?;
                let mut select = tx.prepare(
                    "SELECT currency, SUM(total_minor) FROM orders GROUP BY currency ORDER BY currency",
                )?;
                let revenue = select
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                    .map(|row| {
                        let (code, amount_minor) = row?;
                        Ok(Money {
                            amount_minor,
                            currency: currency(&code)?,
                        })
                    })
                    .collect::<Result<Vec<_>, OrdersError>>()?;
                drop(select);
                tx.finish()?;
                Ok(OrderSummary {
                    orders: u64::try_from(orders).unwrap_or(0),
                    units: u64::try_from(units).unwrap_or(0),
                    revenue,
                })
            })
            .await
    }
}

/// The body a client sent is the body recorded: same ids, lines (in order), shipping, total.
fn same_body(existing: &Order, new: &NewOrder) -> bool {
    existing.order_id == new.order_id
        && existing.cart_id == new.cart_id
        && existing.lines == new.lines
        && existing.shipping == new.shipping
        && existing.total == new.total
        && existing.charge_id == new.charge_id
        && existing.reservation_id == new.reservation_id
        && existing.quote_id == new.quote_id
}

const ORDER_COLUMNS: &str = "SELECT seq, order_id, status, cart_id, currency, shipping_minor,
    total_minor, charge_id, reservation_id, quote_id, created_at_ms FROM orders";

fn load(conn: &Connection, seq: i64) -> Result<Order, OrdersError> {
    let mut orders = select_orders(conn, &format!("{ORDER_COLUMNS} WHERE seq = ?1"), [seq])?;
    let mut lines = select_lines(conn, "WHERE l.order_seq = ?1", [seq])?;
    let mut order = orders
        .pop()
        .ok_or_else(|| OrdersError::Inconsistent(format!("order seq {seq} vanished")))?;
    order.lines = lines.remove(&seq).unwrap_or_default();
    Ok(order)
}

/// Orders (without their lines) selected by `sql`, which starts with [`ORDER_COLUMNS`].
fn select_orders(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Order>, OrdersError> {
    let mut select = conn.prepare_cached(sql)?;
    let rows = select.query_map(params, |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, i64>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, String>(8)?,
            r.get::<_, String>(9)?,
            r.get::<_, i64>(10)?,
        ))
    })?;
    let mut orders = Vec::new();
    for row in rows {
        let (seq, order_id, status, cart_id, code, shipping, total, charge, reservation, quote, at) =
            row?;
        let currency = currency(&code)?;
        orders.push(Order {
            order_id,
            seq,
            status,
            cart_id,
            lines: Vec::new(),
            shipping: Money {
                amount_minor: shipping,
                currency,
            },
            total: Money {
                amount_minor: total,
                currency,
            },
            charge_id: charge,
            reservation_id: reservation,
            quote_id: quote,
            created_at_ms: at,
        });
    }
    Ok(orders)
}

/// Lines of the orders matched by `filter` (a `WHERE` on `l.order_seq`), grouped by order, each
/// group in line order. Lines carry their order's currency.
fn select_lines(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<BTreeMap<i64, Vec<OrderLine>>, OrdersError> {
    let sql = format!(
        "SELECT l.order_seq, l.product_id, l.title, l.unit_price_minor, l.quantity, o.currency
         FROM order_lines l JOIN orders o ON o.seq = l.order_seq
         {filter} ORDER BY l.order_seq, l.line_no"
    );
    let mut select = conn.prepare_cached(&sql)?;
    let rows = select.query_map(params, |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, u32>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut by_order: BTreeMap<i64, Vec<OrderLine>> = BTreeMap::new();
    for row in rows {
        let (seq, product_id, title, price, quantity, code) = row?;
        by_order.entry(seq).or_default().push(OrderLine {
            product_id,
            title,
            unit_price: Money {
                amount_minor: price,
                currency: currency(&code)?,
            },
            quantity,
        });
    }
    Ok(by_order)
}

fn currency(code: &str) -> Result<Currency, OrdersError> {
    Currency::parse(code).ok_or_else(|| {
        OrdersError::Inconsistent(format!("stored currency {code:?} is not ISO 4217"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tests::{eur, new_order};

    const NOW: i64 = 1_700_000_000_000;

    fn place(id: &str) -> PlaceOrder {
        PlaceOrder::parse(new_order(id)).expect("valid order")
    }

    fn feed(after_seq: i64, limit: u32) -> FeedQuery {
        FeedQuery { after_seq, limit }
    }

    #[tokio::test]
    async fn placing_records_the_order_with_its_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = OrderStore::open(dir.path()).expect("open");
        let placed = s.place(place("o-1"), NOW).await.expect("place");
        let Placed::Created(order) = placed else {
            panic!("expected a new order, got {placed:?}");
        };
        assert_eq!(order.seq, 1);
        assert_eq!(order.status, "placed");
        assert_eq!(order.created_at_ms, NOW);
        let read = s
            .order(OrderId::parse("o-1").expect("id"))
            .await
            .expect("read")
            .expect("known");
        assert_eq!(read, order);
        let o = new_order("o-1");
        assert_eq!(read.lines, o.lines);
        assert_eq!((read.shipping, read.total), (o.shipping, o.total));
        assert_eq!(
            s.order(OrderId::parse("o-2").expect("id"))
                .await
                .expect("read"),
            None
        );
    }

    #[tokio::test]
    async fn the_same_body_replays_and_another_body_conflicts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = OrderStore::open(dir.path()).expect("open");
        let Placed::Created(first) = s.place(place("o-1"), NOW).await.expect("place") else {
            panic!("expected a new order");
        };
        let again = s.place(place("o-1"), NOW + 1_000).await.expect("replay");
        assert_eq!(again, Placed::Existing(first.clone()));
        let mut changed = new_order("o-1");
        changed.charge_id = "ch_other".to_owned();
        let err = s
            .place(PlaceOrder::parse(changed).expect("valid"), NOW)
            .await
            .expect_err("conflict");
        assert!(
            matches!(err, OrdersError::Conflict(ref id) if id == "o-1"),
            "{err}"
        );
        let mut reordered = new_order("o-1");
        reordered.lines.reverse();
        assert!(matches!(
            s.place(PlaceOrder::parse(reordered).expect("valid"), NOW)
                .await,
            Err(OrdersError::Conflict(_))
        ));
        let summary = s.summary().await.expect("summary");
        assert_eq!(summary.orders, 1);
    }

    #[tokio::test]
    async fn the_feed_pages_in_seq_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = OrderStore::open(dir.path()).expect("open");
        for i in 1..=7 {
            s.place(place(&format!("o-{i}")), NOW + i)
                .await
                .expect("place");
        }
        let mut after = 0;
        let mut seen = Vec::new();
        for _ in 0..10 {
            let page = s.feed(feed(after, 3)).await.expect("feed");
            if page.items.is_empty() {
                assert_eq!(page.last_seq, after);
                break;
            }
            assert!(page.items.len() <= 3);
            assert!(page.items.iter().all(|o| o.lines.len() == 2));
            seen.extend(page.items.iter().map(|o| o.order_id.clone()));
            after = page.last_seq;
        }
        let expected: Vec<String> = (1..=7).map(|i| format!("o-{i}")).collect();
        assert_eq!(seen, expected);
        assert_eq!(after, 7);
        let tail = s.feed(feed(5, 100)).await.expect("feed");
        let seqs: Vec<i64> = tail.items.iter().map(|o| o.seq).collect();
        assert_eq!(seqs, [6, 7]);
        assert_eq!(tail.last_seq, 7);
        let beyond = s.feed(feed(1_000, 10)).await.expect("feed");
        assert!(beyond.items.is_empty());
        assert_eq!(beyond.last_seq, 1_000);
    }

    #[tokio::test]
    async fn the_summary_counts_orders_units_and_revenue_per_currency() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = OrderStore::open(dir.path()).expect("open");
        let empty = s.summary().await.expect("summary");
        assert_eq!((empty.orders, empty.units, empty.revenue.len()), (0, 0, 0));
        s.place(place("o-1"), NOW).await.expect("place");
        s.place(place("o-2"), NOW).await.expect("place");
        s.place(place("o-2"), NOW)
            .await
            .expect("replay counts once");
        let gbp = Currency::parse("GBP").expect("gbp");
        let mut pounds = new_order("o-3");
        for line in &mut pounds.lines {
            line.unit_price.currency = gbp;
        }
        pounds.shipping = Money {
            amount_minor: 0,
            currency: gbp,
        };
        pounds.total = Money {
            amount_minor: 2550,
            currency: gbp,
        };
        s.place(PlaceOrder::parse(pounds).expect("valid"), NOW)
            .await
            .expect("place");
        let summary = s.summary().await.expect("summary");
        assert_eq!(summary.orders, 3);
        assert_eq!(summary.units, 9);
        assert_eq!(
            summary.revenue,
            vec![
                eur(6090),
                Money {
                    amount_minor: 2550,
                    currency: gbp
                }
            ]
        );
    }

    #[tokio::test]
    async fn concurrent_places_of_one_id_record_it_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = OrderStore::open(dir.path()).expect("open");
        let b = OrderStore::open(dir.path()).expect("second connection");
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..20 {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.spawn(async move { s.place(place("same"), NOW).await });
        }
        let mut created = 0;
        while let Some(joined) = tasks.join_next().await {
            match joined.expect("task").expect("placed") {
                Placed::Created(_) => created += 1,
                Placed::Existing(o) => assert_eq!(o.order_id, "same"),
            }
        }
        assert_eq!(created, 1);
        assert_eq!(a.summary().await.expect("summary").orders, 1);
    }

    #[tokio::test]
    async fn orders_survive_reopening_and_seq_keeps_growing() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let s = OrderStore::open(dir.path()).expect("open");
            s.place(place("o-1"), NOW).await.expect("place");
            s.place(place("o-2"), NOW).await.expect("place");
        }
        let s = OrderStore::open(dir.path()).expect("reopen");
        let page = s.feed(feed(0, 10)).await.expect("feed");
        assert_eq!(page.items.len(), 2);
        let Placed::Created(third) = s.place(place("o-3"), NOW).await.expect("place") else {
            panic!("expected a new order");
        };
        assert_eq!(third.seq, 3);
    }
}
