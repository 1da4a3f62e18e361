//! The products this service knows: the shared seed, indexed by id, and how alike two of them
//! are.
//!
//! Products are referred to by their position in the index ([`Idx`]) inside the model, so
//! co-purchase counts stay small and cheap to hash.

use std::collections::HashMap;

use apiary_seed::SeedProduct;

/// A product's position in the [`ProductIndex`].
pub type Idx = u16;

/// How a similar product is related, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Likeness {
    /// Same category and genre (another fantasy novel).
    CategoryAndGenre,
    /// Same author, artist or director.
    Creator,
    /// Same category only.
    Category,
}

impl Likeness {
    /// The score of a similar product. Below 1, so a co-purchase (counted, so at least 1)
    /// always ranks above attribute similarity in one answer.
    pub fn score(self) -> f64 {
        match self {
            Likeness::CategoryAndGenre => 0.75,
            Likeness::Creator => 0.5,
            Likeness::Category => 0.25,
        }
    }
}

#[derive(Debug)]
pub struct ProductIndex {
    products: Vec<&'static SeedProduct>,
    by_id: HashMap<&'static str, Idx>,
}

impl ProductIndex {
    /// Indexes `products` (at most `Idx::MAX` are kept; the seed has a few hundred).
    pub fn new(products: &'static [SeedProduct]) -> Self {
        let products: Vec<_> = products.iter().take(usize::from(Idx::MAX)).collect();
        let by_id = products
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Idx::try_from(i).ok().map(|i| (p.id.as_str(), i)))
            .collect();
        Self { products, by_id }
    }

    /// The shipped seed.
    pub fn from_seed() -> Self {
        Self::new(apiary_seed::products())
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    pub fn find(&self, id: &str) -> Option<Idx> {
        self.by_id.get(id).copied()
    }

    pub fn id(&self, idx: Idx) -> &'static str {
        self.products
            .get(usize::from(idx))
            .map_or("", |p| p.id.as_str())
    }

    /// Products like `of`, best first: same category and genre, then same creator, then same
    /// category; never `of` itself, each product once. Within a kind the order is a stable
    /// hash of the pair — deterministic, yet not just the neighbouring ids.
    pub fn similar(&self, of: Idx) -> Vec<(Idx, Likeness)> {
        let Some(p) = self.products.get(usize::from(of)) else {
            return Vec::new();
        };
        let mut out: Vec<(Idx, Likeness, u64)> = self
            .products
            .iter()
            .enumerate()
            .filter_map(|(i, q)| {
                let i = Idx::try_from(i).ok()?;
                if i == of {
                    return None;
                }
                let same_category = q.category == p.category;
                let likeness = if same_category && q.genre == p.genre {
                    Likeness::CategoryAndGenre
                } else if q.creator == p.creator {
                    Likeness::Creator
                } else if same_category {
                    Likeness::Category
                } else {
                    return None;
                };
                Some((i, likeness, pair_hash(&p.id, &q.id)))
            })
            .collect();
        out.sort_by(|a, b| (a.1, a.2, self.id(a.0)).cmp(&(b.1, b.2, self.id(b.0))));
        out.into_iter().map(|(i, l, _)| (i, l)).collect()
    }
}

/// FNV-1a over both ids, then a SplitMix64 finaliser: stable across runs, platforms and
/// releases (unlike `std`'s randomly keyed hasher).
fn pair_hash(a: &str, b: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in a.bytes().chain([0xff]).chain(b.bytes()) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: &str, category: &str, genre: &str, creator: &str) -> SeedProduct {
        SeedProduct {
            id: id.to_owned(),
            category: category.to_owned(),
            title: format!("Title of {id}"),
            creator: creator.to_owned(),
            year: 2000,
            format: "paperback".to_owned(),
            genre: genre.to_owned(),
            price_minor: 999,
            currency: "EUR".to_owned(),
            stock: 10,
        }
    }

    fn leak(products: Vec<SeedProduct>) -> &'static [SeedProduct] {
        Box::leak(products.into_boxed_slice())
    }

    #[test]
    fn similar_products_come_in_order_of_likeness() {
        let index = ProductIndex::new(leak(vec![
            product("BK-0001", "books", "mystery", "Ada Weber"),
            product("BK-0002", "books", "poetry", "Bruno Sato"),
            product("BK-0003", "books", "mystery", "Clara Rossi"),
            product("VI-0001", "video", "noir", "Ada Weber"),
            product("VI-0002", "video", "noir", "Hugo Varga"),
            product("BK-0004", "books", "mystery", "Dmitri Sato"),
        ]));
        let of = index.find("BK-0001").expect("known");
        let similar: Vec<_> = index
            .similar(of)
            .into_iter()
            .map(|(i, l)| (index.id(i), l))
            .collect();
        // Two mysteries (in hash order), then the same director's film, then other books.
        assert_eq!(similar.len(), 4);
        let mysteries: Vec<_> = similar[..2].iter().map(|(id, _)| *id).collect();
        assert!(mysteries.contains(&"BK-0003") && mysteries.contains(&"BK-0004"));
        assert!(
            similar[..2]
                .iter()
                .all(|(_, l)| *l == Likeness::CategoryAndGenre)
        );
        assert_eq!(similar[2], ("VI-0001", Likeness::Creator));
        assert_eq!(similar[3], ("BK-0002", Likeness::Category));
    }

    #[test]
    fn the_seed_gives_every_product_plenty_of_distinct_similar_items() {
        let index = ProductIndex::from_seed();
        assert!(index.len() >= 300);
        for i in 0..index.len() {
            let of = Idx::try_from(i).expect("fits");
            let similar = index.similar(of);
            assert!(similar.len() >= 20, "{}", index.id(of));
            assert!(similar.iter().all(|(j, _)| *j != of));
            let unique: std::collections::HashSet<_> = similar.iter().map(|(j, _)| j).collect();
            assert_eq!(unique.len(), similar.len());
            assert!(similar.windows(2).all(|w| w[0].1 <= w[1].1));
        }
    }

    #[test]
    fn similarity_is_deterministic_and_not_just_neighbouring_ids() {
        let index = ProductIndex::from_seed();
        let of = index.find("BK-0010").expect("known");
        assert_eq!(index.similar(of), index.similar(of));
        assert_eq!(
            pair_hash("BK-0001", "BK-0002"),
            pair_hash("BK-0001", "BK-0002")
        );
        assert_ne!(
            pair_hash("BK-0001", "BK-0002"),
            pair_hash("BK-0002", "BK-0001")
        );
        let top: Vec<_> = index
            .similar(of)
            .iter()
            .take(4)
            .map(|(i, _)| index.id(*i))
            .collect();
        assert_ne!(top, vec!["BK-0009", "BK-0011", "BK-0008", "BK-0012"]);
    }
}
