//! The shop's product seed: a deterministic, generated list of books, music and video with
//! prices and initial stock, shipped in the repository (`data/products.json`) and compiled into
//! the services that need it (catalog serves the products, inventory seeds stock from it,
//! reviews and recommendations know which products exist). Nothing is downloaded.
//!
//! The file is the output of [`generate`] (run `cargo run -p apiary-seed --bin gen-seed`); a
//! test fails if the shipped file and the generator disagree. The generator uses its own
//! SplitMix64 so the output never changes with a random-number crate's release.

use serde::{Deserialize, Serialize};

/// One product as seeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedProduct {
    /// `BK-0001`, `MU-0001`, `VI-0001`.
    pub id: String,
    /// `books`, `music` or `video`.
    pub category: String,
    pub title: String,
    /// Author, artist or director.
    pub creator: String,
    pub year: u16,
    pub format: String,
    pub genre: String,
    /// Price in minor units of `currency`.
    pub price_minor: i64,
    pub currency: String,
    /// Units in stock when the inventory is first created (0 for sold-out items).
    pub stock: u32,
}

const SHIPPED: &str = include_str!("../data/products.json");

/// The shipped seed, parsed once.
pub fn products() -> &'static [SeedProduct] {
    static PRODUCTS: std::sync::OnceLock<Vec<SeedProduct>> = std::sync::OnceLock::new();
    PRODUCTS.get_or_init(|| serde_json::from_str(SHIPPED).unwrap_or_default())
}

/// The shipped seed's raw JSON.
pub fn shipped_json() -> &'static str {
    SHIPPED
}

/// SplitMix64: tiny, well known, and stable forever — the one generator behind everything
/// seeded in the project (this catalog, the reviews service's reviews, the storefront test's
/// journeys), so their output never changes with a random-number crate's release.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below_u64(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// An index in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.below_u64(n as u64) as usize
    }

    /// One of `items` ("" when there are none).
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let i = self.below(items.len());
        items.get(i).copied().unwrap_or_default()
    }
}

type Rng = SplitMix64;

const ADJECTIVES: &[&str] = &[
    "Silent", "Golden", "Hidden", "Broken", "Northern", "Electric", "Quiet", "Burning", "Lost",
    "Endless", "Crimson", "Hollow", "Distant", "Paper", "Glass", "Wild", "Midnight", "Iron",
    "Velvet", "Last", "Secret", "Winter", "Summer", "Falling",
];
const NOUNS: &[&str] = &[
    "River",
    "Garden",
    "Harbour",
    "Kingdom",
    "Lantern",
    "Orchard",
    "Signal",
    "Tide",
    "Compass",
    "Mirror",
    "Machine",
    "Archive",
    "Meadow",
    "Station",
    "Horizon",
    "Letters",
    "Empire",
    "Voyage",
    "Island",
    "Clockwork",
    "Hive",
    "Forest",
    "Citadel",
    "Map",
];
const PLACES: &[&str] = &[
    "Lisbon",
    "the North",
    "Kyoto",
    "the Valley",
    "Alexandria",
    "Mars",
    "the Coast",
    "Prague",
    "the Delta",
    "Avalon",
    "Nairobi",
    "the Moon",
];
const FIRST: &[&str] = &[
    "Ada", "Bruno", "Clara", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kemi",
    "Luca", "Mira", "Nils", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tessa", "Umar", "Vera",
    "Wen", "Yara",
];
const LAST: &[&str] = &[
    "Almeida",
    "Brandt",
    "Castell",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Galloway",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quist",
    "Rossi",
    "Sato",
    "Tanaka",
    "Urbano",
    "Varga",
    "Weber",
    "Zielinski",
];
const BANDS: &[&str] = &[
    "The Night Owls",
    "Paper Satellites",
    "Velvet Engine",
    "Northern Drift",
    "The Hive Mind",
    "Glass Harbour",
    "Echo Park Trio",
    "Copper Lungs",
    "Static Bloom",
    "The Last Orchard",
    "Midnight Tram",
    "Golden Static",
];

struct CategorySpec {
    name: &'static str,
    prefix: &'static str,
    count: usize,
    formats: &'static [(&'static str, i64)],
    genres: &'static [&'static str],
    years: (u16, u16),
}

const CATEGORIES: &[CategorySpec] = &[
    CategorySpec {
        name: "books",
        prefix: "BK",
        count: 130,
        formats: &[
            ("paperback", 999),
            ("hardcover", 2499),
            ("ebook", 699),
            ("audiobook", 1899),
        ],
        genres: &[
            "fiction",
            "mystery",
            "science-fiction",
            "history",
            "poetry",
            "biography",
            "fantasy",
        ],
        years: (1850, 2026),
    },
    CategorySpec {
        name: "music",
        prefix: "MU",
        count: 100,
        formats: &[("vinyl", 2799), ("cd", 1299), ("digital", 899)],
        genres: &[
            "jazz",
            "rock",
            "electronic",
            "classical",
            "folk",
            "hip-hop",
            "soul",
        ],
        years: (1955, 2026),
    },
    CategorySpec {
        name: "video",
        prefix: "VI",
        count: 90,
        formats: &[
            ("blu-ray", 1999),
            ("dvd", 1199),
            ("4k-uhd", 2999),
            ("digital", 1499),
        ],
        genres: &[
            "drama",
            "comedy",
            "documentary",
            "thriller",
            "animation",
            "western",
            "noir",
        ],
        years: (1930, 2026),
    },
];

fn title(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => format!("The {} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS)),
        1 => format!("{} of {}", rng.pick(NOUNS), rng.pick(PLACES)),
        2 => format!("{} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS)),
        _ => format!("A {} in {}", rng.pick(NOUNS), rng.pick(PLACES)),
    }
}

fn person(rng: &mut Rng) -> String {
    format!("{} {}", rng.pick(FIRST), rng.pick(LAST))
}

/// Generates the seed: 320 products, deterministic.
pub fn generate() -> Vec<SeedProduct> {
    let mut rng = Rng::new(0x00A9_1A4F_5EED);
    let mut out = Vec::new();
    for spec in CATEGORIES {
        for n in 1..=spec.count {
            let (format, base_price) = spec.formats[rng.below(spec.formats.len())];
            // Prices vary around the format's base, ending in 9.
            let cents = base_price + (rng.below(11) as i64 - 5) * 100;
            let creator = if spec.name == "music" && rng.below(3) == 0 {
                rng.pick(BANDS).to_owned()
            } else {
                person(&mut rng)
            };
            let span = usize::from(spec.years.1 - spec.years.0);
            let year = spec.years.0 + rng.below(span + 1) as u16;
            // Most items are well stocked; some are scarce and a few sold out, so shoppers
            // meet real stock-outs.
            let stock = match rng.below(100) {
                0..=3 => 0,
                4..=13 => 1 + rng.below(5) as u32,
                _ => 40 + rng.below(360) as u32,
            };
            out.push(SeedProduct {
                id: format!("{}-{n:04}", spec.prefix),
                category: spec.name.to_owned(),
                title: title(&mut rng),
                creator,
                year,
                format: format.to_owned(),
                genre: rng.pick(spec.genres).to_owned(),
                price_minor: cents,
                currency: "EUR".to_owned(),
                stock,
            });
        }
    }
    out
}

/// [`generate`] as the pretty JSON shipped in `data/products.json`.
pub fn generate_json() -> String {
    let mut json = serde_json::to_string_pretty(&generate()).unwrap_or_default();
    json.push('\n');
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_is_the_generators_output() {
        assert!(
            generate_json() == SHIPPED,
            "data/products.json is stale: run `cargo run -p apiary-seed --bin gen-seed`"
        );
    }

    #[test]
    fn at_least_300_products_across_three_categories_with_unique_ids() {
        let all = products();
        assert!(all.len() >= 300, "{}", all.len());
        let ids: std::collections::HashSet<_> = all.iter().map(|p| &p.id).collect();
        assert_eq!(ids.len(), all.len());
        for cat in ["books", "music", "video"] {
            assert!(
                all.iter().filter(|p| p.category == cat).count() >= 80,
                "{cat}"
            );
        }
        assert!(all.iter().all(|p| p.price_minor > 0 && p.currency == "EUR"));
        let sold_out = all.iter().filter(|p| p.stock == 0).count();
        assert!(
            (1..all.len() / 10).contains(&sold_out),
            "{sold_out} sold out"
        );
    }
}
