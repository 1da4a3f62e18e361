//! The product store: the seed loaded once at start-up, then read concurrently.
//!
//! Products are validated on load (ids, categories, prices, unique ids) so a bad seed stops
//! start-up with a message instead of serving half a catalog.

use std::collections::BTreeMap;
use std::path::Path;

use apiary_wire::{CategoryCount, Currency, Money, Product};

use crate::domain::{Category, ListQuery, ProductId};

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("seed is not a JSON product list: {0}")]
    Format(String),
    #[error("seed product {index}: {reason}")]
    Invalid { index: usize, reason: String },
}

#[derive(Debug)]
pub struct ProductStore {
    /// Sorted by id, so listings are stable and pages never overlap.
    by_id: BTreeMap<ProductId, Product>,
}

impl ProductStore {
    /// The shop's generated seed (`apiary-seed`, compiled in).
    pub fn built_in() -> Result<Self, SeedError> {
        let products = apiary_seed::products()
            .iter()
            .map(|p| Product {
                id: p.id.clone(),
                category: p.category.clone(),
                title: p.title.clone(),
                creator: p.creator.clone(),
                year: p.year,
                format: p.format.clone(),
                genre: p.genre.clone(),
                price: Money {
                    amount_minor: p.price_minor,
                    // Validated below like any seed: a bad code stops start-up.
                    currency: Currency::parse(&p.currency).unwrap_or(Currency::EUR),
                },
            })
            .collect();
        Self::from_products(products)
    }

    pub fn from_file(path: &Path) -> Result<Self, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|e| SeedError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_json(&text)
    }

    pub fn from_json(text: &str) -> Result<Self, SeedError> {
        let products: Vec<Product> =
            serde_json::from_str(text).map_err(|e| SeedError::Format(e.to_string()))?;
        Self::from_products(products)
    }

    fn from_products(products: Vec<Product>) -> Result<Self, SeedError> {
        if products.is_empty() {
            return Err(SeedError::Format("the seed has no products".to_owned()));
        }
        let mut by_id = BTreeMap::new();
        for (index, product) in products.into_iter().enumerate() {
            let invalid = |reason: String| SeedError::Invalid { index, reason };
            let id = ProductId::parse(&product.id).map_err(|e| invalid(e.to_string()))?;
            let category =
                Category::parse(&product.category).map_err(|e| invalid(e.to_string()))?;
            if !id.as_str().starts_with(category.id_prefix()) {
                return Err(invalid(format!(
                    "id {id} does not match category {}",
                    category.as_str()
                )));
            }
            if product.price.amount_minor <= 0 {
                return Err(invalid(format!("{id} has a non-positive price")));
            }
            if product.title.trim().is_empty() {
                return Err(invalid(format!("{id} has no title")));
            }
            if by_id.insert(id.clone(), product).is_some() {
                return Err(invalid(format!("{id} appears twice")));
            }
        }
        Ok(Self { by_id })
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn get(&self, id: &ProductId) -> Option<&Product> {
        self.by_id.get(id)
    }

    /// Each category with its number of products.
    pub fn categories(&self) -> Vec<CategoryCount> {
        Category::ALL
            .iter()
            .map(|c| CategoryCount {
                name: c.as_str().to_owned(),
                count: self
                    .by_id
                    .values()
                    .filter(|p| p.category == c.as_str())
                    .count(),
            })
            .collect()
    }

    /// Matching products in id order, and how many match in total.
    pub fn list(&self, query: &ListQuery) -> (Vec<Product>, usize) {
        let matches = self.by_id.values().filter(|p| {
            query.category.is_none_or(|c| p.category == c.as_str())
                && query.ids.as_ref().is_none_or(|ids| {
                    ids.binary_search_by(|id| id.as_str().cmp(p.id.as_str()))
                        .is_ok()
                })
                && query.text.as_deref().is_none_or(|t| {
                    p.title.to_lowercase().contains(t)
                        || p.creator.to_lowercase().contains(t)
                        || p.genre.contains(t)
                })
        });
        let mut total = 0;
        let mut page = Vec::with_capacity(query.limit);
        for product in matches {
            if total >= query.offset && page.len() < query.limit {
                page.push(product.clone());
            }
            total += 1;
        }
        (page, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(category: Option<&str>, q: Option<&str>, limit: &str, offset: &str) -> ListQuery {
        ListQuery::parse(category, q, Some(limit), Some(offset), None).expect("valid query")
    }

    #[test]
    fn the_built_in_seed_covers_every_category() {
        let store = ProductStore::built_in().expect("seed loads");
        assert!(store.len() >= 300);
        let categories = store.categories();
        assert_eq!(
            categories.iter().map(|c| c.count).sum::<usize>(),
            store.len()
        );
        for c in Category::ALL {
            let (_, total) = store.list(&query(Some(c.as_str()), None, "100", "0"));
            assert!(total >= 80, "{c:?}");
        }
    }

    #[test]
    fn search_matches_title_creator_or_genre_case_insensitively() {
        let store = ProductStore::built_in().expect("seed loads");
        let sample = store
            .get(&ProductId::parse("MU-0007").expect("id"))
            .expect("seeded");
        let creator = sample.creator.to_uppercase();
        let (items, total) = store.list(&query(None, Some(&creator), "100", "0"));
        assert!(total >= 1);
        assert!(items.iter().any(|p| p.id == "MU-0007"));
        let (items, _) = store.list(&query(Some("music"), Some("JAZZ"), "100", "0"));
        assert!(!items.is_empty());
        assert!(items.iter().all(|p| p.category == "music"));
        assert!(items.iter().all(|p| p.genre == "jazz"
            || p.title.to_lowercase().contains("jazz")
            || p.creator.to_lowercase().contains("jazz")));
    }

    #[test]
    fn an_id_list_returns_exactly_the_known_ones() {
        let store = ProductStore::built_in().expect("seed loads");
        let q = ListQuery::parse(None, None, None, None, Some("VI-0002,BK-0001,BK-0999"))
            .expect("valid");
        let (items, total) = store.list(&q);
        assert_eq!(total, 2);
        let ids: Vec<_> = items.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["BK-0001", "VI-0002"]);
    }

    #[test]
    fn pages_partition_the_listing() {
        let store = ProductStore::built_in().expect("seed loads");
        let (first, total) = store.list(&query(None, None, "10", "0"));
        let (second, _) = store.list(&query(None, None, "10", "10"));
        let (beyond, _) = store.list(&query(None, None, "10", "1000"));
        assert_eq!(total, store.len());
        assert_eq!(first.len(), 10);
        assert!(first.iter().all(|a| second.iter().all(|b| a.id < b.id)));
        assert!(beyond.is_empty());
    }

    #[test]
    fn bad_seeds_are_refused_with_the_product_named() {
        let product = |id: &str, cat: &str, price: i64| {
            format!(
                r#"{{"id":"{id}","category":"{cat}","title":"T","creator":"C","year":1900,"format":"cd","price":{{"amount_minor":{price},"currency":"EUR"}}}}"#
            )
        };
        let cases = [
            format!("[{}]", product("XX-1", "books", 100)),
            format!("[{}]", product("MU-0001", "books", 100)),
            format!("[{}]", product("BK-0001", "books", 0)),
            format!(
                "[{},{}]",
                product("BK-0001", "books", 1),
                product("BK-0001", "books", 1)
            ),
            "{}".to_owned(),
        ];
        for case in cases {
            assert!(ProductStore::from_json(&case).is_err(), "{case}");
        }
    }
}
