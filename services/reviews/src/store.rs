//! Reviews in SQLite (`reviews.sqlite3`): written once each, read newest first per product.
//!
//! Each write is one `BEGIN IMMEDIATE` transaction committed before the answer is sent.

use apiary_store::rusqlite::{self, TransactionBehavior, params};
use apiary_store::{Db, M, StoreError};
use apiary_wire::shop::Review;

use crate::domain::{Limit, ProductId};

pub const MIGRATIONS: &[M<'static>] = &[M::up(
    "CREATE TABLE reviews (
        review_id  TEXT PRIMARY KEY,
        product_id TEXT NOT NULL,
        rating     INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        author     TEXT NOT NULL,
        title      TEXT NOT NULL,
        body       TEXT NOT NULL,
        -- Milliseconds since the Unix epoch.
        created_at INTEGER NOT NULL
    );
    -- Listing is always one product's reviews, newest first.
    CREATE INDEX reviews_by_product ON reviews (product_id, created_at);",
)];

/// One product's reviews: totals over all of them, and the newest page.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductPage {
    pub count: u64,
    pub average_rating: Option<f64>,
    pub reviews: Vec<Review>,
}

fn read_review(r: &rusqlite::Row<'_>) -> rusqlite::Result<Review> {
    Ok(Review {
        review_id: r.get(0)?,
        product_id: r.get(1)?,
        rating: r.get(2)?,
        author: r.get(3)?,
        title: r.get(4)?,
        body: r.get(5)?,
        created_at_ms: r.get(6)?,
    })
}

fn insert(conn: &rusqlite::Connection, review: &Review) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT INTO reviews (review_id, product_id, rating, author, title, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        review.review_id,
        review.product_id,
        review.rating,
        review.author,
        review.title,
        review.body,
        review.created_at_ms,
    ])
}

#[derive(Debug, Clone)]
pub struct ReviewStore {
    db: Db,
}

impl ReviewStore {
    /// Opens (creating and migrating if needed) `<data_dir>/reviews.sqlite3`.
    pub fn open(data_dir: &std::path::Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: Db::open(data_dir, crate::SERVICE.name, MIGRATIONS)?,
        })
    }

    /// The database (the chassis's readiness check pings it).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Writes `reviews` if, and only if, the table is empty (first start); returns how many
    /// were written. Check and writes share one transaction, so two processes starting on the
    /// same file cannot both seed.
    pub async fn seed_if_empty(&self, reviews: Vec<Review>) -> Result<usize, StoreError> {
        self.db
            .run("seed", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let existing: i64 =
                    tx.query_row("SELECT COUNT(*) FROM reviews", [], |r| r.get(0))?;
                if existing > 0 {
                    return Ok(0);
                }
                for review in &reviews {
                    insert(&tx, review)?;
                }
                tx.commit()?;
                Ok(reviews.len())
            })
            .await
    }

    pub async fn add(&self, review: Review) -> Result<(), StoreError> {
        self.db
            .run("add_review", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                insert(&tx, &review)?;
                tx.commit()?;
                Ok(())
            })
            .await
    }

    /// Count and mean over all of the product's reviews, and the newest `limit` of them
    /// (ties in time broken by insertion order, latest first).
    pub async fn for_product(
        &self,
        product: ProductId,
        limit: Limit,
    ) -> Result<ProductPage, StoreError> {
        self.db
            .run("list_reviews", move |conn| {
                let (count, average_rating): (i64, Option<f64>) = conn.query_row(
                    "SELECT COUNT(*), AVG(rating) FROM reviews WHERE product_id = ?1",
                    [product.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                let mut stmt = conn.prepare_cached(
                    "SELECT review_id, product_id, rating, author, title, body, created_at
                     FROM reviews WHERE product_id = ?1
                     ORDER BY created_at DESC, rowid DESC LIMIT ?2",
                )?;
                let reviews = stmt
                    .query_map(params![product.as_str(), limit.get()], read_review)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(ProductPage {
                    count: u64::try_from(count).unwrap_or(0),
                    average_rating,
                    reviews,
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(id: &str, product: &str, rating: u8, at: i64) -> Review {
        Review {
            review_id: id.to_owned(),
            product_id: product.to_owned(),
            rating,
            author: "A".to_owned(),
            title: "T".to_owned(),
            body: "B".to_owned(),
            created_at_ms: at,
        }
    }

    fn product(id: &str) -> ProductId {
        ProductId::parse(id).expect("id")
    }

    #[tokio::test]
    async fn listing_is_newest_first_with_totals_over_all_reviews() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ReviewStore::open(dir.path()).expect("open");
        for (id, rating, at) in [("a", 5, 10), ("b", 2, 30), ("c", 4, 20), ("d", 4, 30)] {
            store
                .add(review(id, "BK-0001", rating, at))
                .await
                .expect("add");
        }
        store
            .add(review("other", "BK-0002", 1, 99))
            .await
            .expect("add");
        let page = store
            .for_product(product("BK-0001"), Limit::parse(Some("3")).expect("limit"))
            .await
            .expect("list");
        assert_eq!(page.count, 4);
        assert_eq!(page.average_rating, Some(3.75));
        let ids: Vec<&str> = page.reviews.iter().map(|r| r.review_id.as_str()).collect();
        assert_eq!(ids, ["d", "b", "c"]);
        let empty = store
            .for_product(product("MU-0001"), Limit::parse(None).expect("limit"))
            .await
            .expect("list");
        assert_eq!(
            (empty.count, empty.average_rating, empty.reviews.len()),
            (0, None, 0)
        );
    }

    #[tokio::test]
    async fn seeding_happens_only_into_an_empty_table() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ReviewStore::open(dir.path()).expect("open");
        let seed = vec![review("s1", "BK-0001", 5, 1), review("s2", "BK-0001", 4, 2)];
        assert_eq!(store.seed_if_empty(seed.clone()).await.expect("seed"), 2);
        assert_eq!(store.seed_if_empty(seed).await.expect("seed again"), 0);
        let page = store
            .for_product(product("BK-0001"), Limit::parse(None).expect("limit"))
            .await
            .expect("list");
        assert_eq!(page.count, 2);
    }
}
