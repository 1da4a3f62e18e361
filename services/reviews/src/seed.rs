//! The deterministic seed reviews written on first start, so product pages have ratings from
//! the first request.
//!
//! 0–6 reviews per product, ratings skewed positive, short titles and bodies that fit the
//! product's category, timestamps spread over 2023–2024 (so every review posted later is
//! newer). Built with its own SplitMix64 and a fixed seed: the same products always give the
//! same reviews, ids included, whatever a random-number crate does in its next release.

use apiary_seed::SeedProduct;
use apiary_wire::shop::Review;

use apiary_seed::SplitMix64 as Rng;

const SEED: u64 = 0x5EED_0000_4E71_E755;
/// 2023-01-01T00:00:00Z.
const FIRST_MS: i64 = 1_672_531_200_000;
/// Two years of milliseconds.
const SPAN_MS: u64 = 2 * 365 * 86_400_000;
/// The most reviews one product gets.
pub const MAX_PER_PRODUCT: u64 = 6;

/// Rating weights (per 100): mostly 4s and 5s, as real shops see.
const RATING_WEIGHTS: [(u8, u64); 5] = [(5, 40), (4, 30), (3, 15), (2, 9), (1, 6)];

const FIRST_NAMES: &[&str] = &[
    "Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemi",
    "Lars", "Mara", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tomas", "Uma", "Vera",
    "Wen", "Yusuf", "Zofia",
];
const INITIALS: &[&str] = &[
    "A.", "B.", "C.", "D.", "E.", "F.", "G.", "H.", "K.", "L.", "M.", "N.", "O.", "P.", "R.", "S.",
    "T.", "V.", "W.",
];
const TITLES_GREAT: &[&str] = &[
    "Simply brilliant",
    "A keeper",
    "Loved every minute",
    "Five stars, easily",
    "Exceeded my expectations",
    "An instant favourite",
];
const TITLES_GOOD: &[&str] = &[
    "Very good",
    "Really enjoyable",
    "Solid and satisfying",
    "Well worth it",
    "Almost perfect",
];
const TITLES_MIXED: &[&str] = &[
    "Decent enough",
    "Mixed feelings",
    "Good in parts",
    "It was fine",
];
const TITLES_POOR: &[&str] = &[
    "Disappointing",
    "Expected more",
    "Not for me",
    "A real letdown",
];
const OPENINGS_POSITIVE: &[&str] = &[
    "This {noun} surprised me in the best way.",
    "I keep coming back to this {noun}.",
    "One of the best {noun}s I have bought this year.",
    "A friend recommended this {noun} and they were right.",
];
const OPENINGS_MIXED: &[&str] = &[
    "This {noun} has its moments.",
    "I wanted to like this {noun} more than I did.",
    "Parts of this {noun} are excellent, others less so.",
];
const OPENINGS_NEGATIVE: &[&str] = &[
    "This {noun} never quite came together for me.",
    "I struggled with this {noun}.",
    "Sadly this {noun} did not live up to the hype.",
];
const MIDDLES: &[&str] = &[
    "It arrived quickly and well packed.",
    "The edition itself is well made.",
    "The pacing is uneven in the middle.",
    "Good value for the price.",
    "It rewards a second go.",
    "",
];
const CLOSINGS_POSITIVE: &[&str] = &["Highly recommended.", "Buy it.", "Would gladly buy again."];
const CLOSINGS_OTHER: &[&str] = &[
    "Your mileage may vary.",
    "Maybe borrow it first.",
    "Hard to recommend.",
];

fn noun(category: &str) -> &'static str {
    match category {
        "music" => "album",
        "video" => "film",
        _ => "book",
    }
}

fn rating(rng: &mut Rng) -> u8 {
    let mut roll = rng.below_u64(100);
    for (rating, weight) in RATING_WEIGHTS {
        if roll < weight {
            return rating;
        }
        roll -= weight;
    }
    5
}

/// A v4-shaped UUID from the generator (deterministic, unlike `Uuid::new_v4`).
fn review_id(rng: &mut Rng) -> String {
    let hi = rng.next_u64().to_be_bytes();
    let lo = rng.next_u64().to_be_bytes();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi);
    bytes[8..].copy_from_slice(&lo);
    format!("rv_{}", uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// The seed reviews for `products`, in product order.
pub fn generate(products: &[SeedProduct]) -> Vec<Review> {
    let mut rng = Rng::new(SEED);
    let mut reviews = Vec::new();
    for product in products {
        let n = rng.below_u64(MAX_PER_PRODUCT + 1);
        let noun = noun(&product.category);
        for _ in 0..n {
            let rating = rating(&mut rng);
            let (titles, openings, closings) = match rating {
                5 => (TITLES_GREAT, OPENINGS_POSITIVE, CLOSINGS_POSITIVE),
                4 => (TITLES_GOOD, OPENINGS_POSITIVE, CLOSINGS_POSITIVE),
                3 => (TITLES_MIXED, OPENINGS_MIXED, CLOSINGS_OTHER),
                _ => (TITLES_POOR, OPENINGS_NEGATIVE, CLOSINGS_OTHER),
            };
            let author = format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(INITIALS));
            let title = rng.pick(titles).to_owned();
            let parts = [
                rng.pick(openings).replace("{noun}", noun),
                rng.pick(MIDDLES).to_owned(),
                rng.pick(closings).to_owned(),
            ];
            let body = parts
                .iter()
                .filter(|p| !p.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            let offset = i64::try_from(rng.below_u64(SPAN_MS)).unwrap_or(0);
            reviews.push(Review {
                review_id: review_id(&mut rng),
                product_id: product.id.clone(),
                rating,
                author,
                title,
                body,
                created_at_ms: FIRST_MS + offset,
            });
        }
    }
    reviews
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::domain::ReviewDraft;

    #[test]
    fn the_same_products_give_the_same_reviews() {
        let products = apiary_seed::products();
        assert_eq!(generate(products), generate(products));
    }

    #[test]
    fn every_product_gets_0_to_6_reviews_and_most_get_some() {
        let products = apiary_seed::products();
        let reviews = generate(products);
        let mut per_product: HashMap<&str, u64> = HashMap::new();
        for r in &reviews {
            *per_product.entry(r.product_id.as_str()).or_default() += 1;
        }
        assert!(
            per_product
                .values()
                .all(|n| (1..=MAX_PER_PRODUCT).contains(n))
        );
        // Some products have none (0 is a possible count), most have some.
        assert!(per_product.len() < products.len());
        assert!(per_product.len() > products.len() / 2);
        let ids: HashSet<&str> = reviews.iter().map(|r| r.review_id.as_str()).collect();
        assert_eq!(ids.len(), reviews.len(), "review ids are unique");
    }

    #[test]
    fn ratings_skew_positive_and_every_review_is_valid() {
        let reviews = generate(apiary_seed::products());
        let mean = reviews.iter().map(|r| f64::from(r.rating)).sum::<f64>() / reviews.len() as f64;
        assert!(mean > 3.5 && mean < 4.6, "mean {mean}");
        assert!((1..=5).all(|n| reviews.iter().any(|r| r.rating == n)));
        for r in &reviews {
            let as_json = |s: &str| serde_json::Value::from(s);
            let draft = ReviewDraft::parse(
                &serde_json::Value::from(r.rating),
                &as_json(&r.author),
                &as_json(&r.title),
                &as_json(&r.body),
            )
            .expect("seed reviews pass the same validation as submitted ones");
            assert_eq!(draft.body, r.body, "bodies are already trimmed");
            assert!(r.review_id.starts_with("rv_"));
            assert!(r.created_at_ms >= FIRST_MS);
        }
    }
}
