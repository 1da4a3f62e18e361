//! The co-purchase model: for every product, how often each other product was bought in the
//! same order. Learned from the orders feed by [`crate::learner`]; asked by the routes.
//!
//! The counts are bounded by the catalogue (at most one counter per pair of known products),
//! so the model cannot grow with traffic. Products the service does not know (not in the seed)
//! are ignored when learning.

use std::collections::{BTreeSet, HashMap};

use crate::products::{Idx, ProductIndex};

/// Which model produced an answer (the `model` field and metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    CoPurchase,
    Similar,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::CoPurchase => "co-purchase",
            ModelKind::Similar => "similar",
        }
    }
}

/// A recommendation: a product and its score (higher is better, comparable within an answer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub product: Idx,
    pub score: f64,
}

#[derive(Debug)]
pub struct Model {
    index: ProductIndex,
    /// product -> (bought with -> times).
    pairs: HashMap<Idx, HashMap<Idx, u32>>,
    orders_learned: u64,
}

impl Model {
    pub fn new(index: ProductIndex) -> Self {
        Self {
            index,
            pairs: HashMap::new(),
            orders_learned: 0,
        }
    }

    pub fn index(&self) -> &ProductIndex {
        &self.index
    }

    pub fn orders_learned(&self) -> u64 {
        self.orders_learned
    }

    /// Learns one order's basket (its product ids). Callers learn each order once: the
    /// consumer's inbox and the basket table make sure of it.
    pub fn learn<'a>(&mut self, products: impl IntoIterator<Item = &'a str>) {
        self.orders_learned += 1;
        // A product listed twice in one order is one purchase of it.
        let bought: BTreeSet<Idx> = products
            .into_iter()
            .filter_map(|id| self.index.find(id))
            .collect();
        for &a in &bought {
            for &b in &bought {
                if a != b {
                    let n = self.pairs.entry(a).or_default().entry(b).or_default();
                    *n = n.saturating_add(1);
                }
            }
        }
    }

    /// Up to `limit` recommendations for `product`: its co-purchases (most often first, ties
    /// by id) padded with similar products; only similar products when it has no co-purchases.
    pub fn recommend(&self, product: Idx, limit: usize) -> (ModelKind, Vec<Scored>) {
        let mut out: Vec<Scored> = Vec::with_capacity(limit);
        let kind = match self.pairs.get(&product).filter(|p| !p.is_empty()) {
            Some(partners) => {
                let mut ranked: Vec<(Idx, u32)> = partners.iter().map(|(&i, &n)| (i, n)).collect();
                ranked.sort_by(|a, b| {
                    b.1.cmp(&a.1)
                        .then_with(|| self.index.id(a.0).cmp(self.index.id(b.0)))
                });
                out.extend(ranked.into_iter().take(limit).map(|(i, n)| Scored {
                    product: i,
                    score: f64::from(n),
                }));
                ModelKind::CoPurchase
            }
            None => ModelKind::Similar,
        };
        if out.len() < limit {
            for (i, likeness) in self.index.similar(product) {
                if out.len() >= limit {
                    break;
                }
                if out.iter().all(|s| s.product != i) {
                    out.push(Scored {
                        product: i,
                        score: likeness.score(),
                    });
                }
            }
        }
        (kind, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(model: &Model, recs: &[Scored]) -> Vec<&'static str> {
        recs.iter().map(|s| model.index().id(s.product)).collect()
    }

    fn seeded() -> Model {
        Model::new(ProductIndex::from_seed())
    }

    #[test]
    fn without_orders_every_answer_is_similar_products() {
        let model = seeded();
        let of = model.index().find("MU-0001").expect("known");
        let (kind, recs) = model.recommend(of, 4);
        assert_eq!(kind, ModelKind::Similar);
        assert_eq!(recs.len(), 4);
        let expected: Vec<_> = model
            .index()
            .similar(of)
            .iter()
            .take(4)
            .map(|(i, _)| model.index().id(*i))
            .collect();
        assert_eq!(ids(&model, &recs), expected);
    }

    #[test]
    fn co_purchases_rank_by_count_then_id_and_are_padded_with_similar() {
        let mut model = seeded();
        for basket in [
            &["BK-0001", "VI-0003"][..],
            &["BK-0001", "MU-0002", "VI-0003"],
            &["BK-0001", "MU-0002", "VI-0003", "BK-0001"],
            &["BK-0001", "BK-9999"],
        ] {
            model.learn(basket.iter().copied());
        }
        assert_eq!(model.orders_learned(), 4);
        let of = model.index().find("BK-0001").expect("known");
        let (kind, recs) = model.recommend(of, 5);
        assert_eq!(kind, ModelKind::CoPurchase);
        assert_eq!(&ids(&model, &recs)[..2], &["VI-0003", "MU-0002"]);
        assert_eq!(recs[0].score, 3.0);
        assert_eq!(recs[1].score, 2.0);
        assert_eq!(recs.len(), 5);
        assert!(recs[2..].iter().all(|s| s.score < 1.0));
        let all = ids(&model, &recs);
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
        assert!(!all.contains(&"BK-0001"));
        // Ties are broken by id.
        let mu = model.index().find("MU-0002").expect("known");
        let (_, recs) = model.recommend(mu, 2);
        assert_eq!(ids(&model, &recs), vec!["BK-0001", "VI-0003"]);
        // A limit below the co-purchases keeps only the best.
        let (_, recs) = model.recommend(of, 1);
        assert_eq!(ids(&model, &recs), vec!["VI-0003"]);
    }

    #[test]
    fn single_item_orders_and_unknown_products_teach_nothing_about_pairs() {
        let mut model = seeded();
        model.learn(["BK-0001"]);
        model.learn(["BK-0001", "XX-1"]);
        let of = model.index().find("BK-0001").expect("known");
        assert_eq!(model.recommend(of, 4).0, ModelKind::Similar);
        assert_eq!(model.orders_learned(), 2);
    }
}
