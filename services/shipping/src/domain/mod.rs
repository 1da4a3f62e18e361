//! Domain types that parse: once constructed, they are valid.

use std::fmt;

use apiary_wire::ids::{InvalidId, ProductId};
use apiary_wire::shop::LineItem;

/// Most lines in one quote request (a cart's limit too).
pub const MAX_LINES: usize = 50;
/// Most units of one line.
pub const MAX_LINE_UNITS: u32 = 99;

/// Where the shop ships from, and so what "domestic" means.
pub const HOME: &str = "DE";

/// The other member states of the European Union.
const EU: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Countries outside the EU the shop's carriers serve.
const WORLD: &[&str] = &[
    "AE", "AU", "CA", "CH", "GB", "IL", "IS", "JP", "KR", "NO", "NZ", "SG", "US",
];

/// A shipping zone: the tariff, carrier and delivery time follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Zone {
    Domestic,
    Eu,
    World,
}

impl Zone {
    pub const ALL: [Zone; 3] = [Zone::Domestic, Zone::Eu, Zone::World];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Zone::Domestic => "domestic",
            Zone::Eu => "eu",
            Zone::World => "world",
        }
    }
}

/// Why a destination was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("'{0}' is not an ISO 3166 alpha-2 country code (two upper-case letters, e.g. DE)")]
    Malformed(String),
    #[error("the shop does not ship to {0}")]
    Unsupported(String),
}

/// A country the shop ships to, with its zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    country: String,
    zone: Zone,
}

impl Destination {
    pub fn parse(raw: &str) -> Result<Self, DestinationError> {
        let b = raw.as_bytes();
        if b.len() != 2 || !b.iter().all(u8::is_ascii_uppercase) {
            return Err(DestinationError::Malformed(truncate(raw, 20)));
        }
        let zone = if raw == HOME {
            Zone::Domestic
        } else if EU.contains(&raw) {
            Zone::Eu
        } else if WORLD.contains(&raw) {
            Zone::World
        } else {
            return Err(DestinationError::Unsupported(raw.to_owned()));
        };
        Ok(Self {
            country: raw.to_owned(),
            zone,
        })
    }

    pub fn country(&self) -> &str {
        &self.country
    }

    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// Every served country code, home first.
    pub fn served() -> impl Iterator<Item = &'static str> {
        std::iter::once(HOME)
            .chain(EU.iter().copied())
            .chain(WORLD.iter().copied())
    }
}

/// Why the items of a quote request were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParcelError {
    #[error("{0}")]
    InvalidProductId(InvalidId),
    #[error("a quote needs 1 to {MAX_LINES} lines, got {0}")]
    LineCount(usize),
    #[error("quantity of {product} must be from 1 to {MAX_LINE_UNITS}, got {quantity}")]
    Quantity { product: String, quantity: u32 },
}

/// What is being shipped: validated lines. Only the unit count prices a parcel, but the lines
/// are checked so a quote is never given for a request no cart could make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parcel {
    units: u32,
}

impl Parcel {
    pub fn parse(items: &[LineItem]) -> Result<Self, ParcelError> {
        // Ids first: a malformed id is a different kind of mistake (400) from a count (422).
        for line in items {
            ProductId::parse(&line.product_id).map_err(ParcelError::InvalidProductId)?;
        }
        if !(1..=MAX_LINES).contains(&items.len()) {
            return Err(ParcelError::LineCount(items.len()));
        }
        if let Some(bad) = items
            .iter()
            .find(|l| !(1..=MAX_LINE_UNITS).contains(&l.quantity))
        {
            return Err(ParcelError::Quantity {
                product: bad.product_id.clone(),
                quantity: bad.quantity,
            });
        }
        Ok(Self {
            units: items.iter().map(|l| l.quantity).sum(),
        })
    }

    /// Units in the parcel (at least 1).
    pub fn units(&self) -> u32 {
        self.units
    }
}

/// A quote id: `q_` and a UUID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuoteId(String);

impl QuoteId {
    pub fn new() -> Self {
        Self(format!("q_{}", uuid::Uuid::new_v4()))
    }

    /// Any string is looked up as it is, but only the right shape can ever match; refusing
    /// others early keeps garbage out of the logs.
    pub fn parse(raw: &str) -> Option<Self> {
        let uuid = raw.strip_prefix("q_")?;
        uuid::Uuid::try_parse(uuid).ok()?;
        Some(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for QuoteId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for QuoteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(product_id: &str, quantity: u32) -> LineItem {
        LineItem {
            product_id: product_id.to_owned(),
            quantity,
        }
    }

    #[test]
    fn about_forty_countries_in_three_zones() {
        let served: Vec<_> = Destination::served().collect();
        assert!((38..=42).contains(&served.len()), "{}", served.len());
        let unique: std::collections::HashSet<_> = served.iter().collect();
        assert_eq!(unique.len(), served.len());
        assert_eq!(
            Destination::parse("DE").map(|d| d.zone()),
            Ok(Zone::Domestic)
        );
        assert_eq!(Destination::parse("FR").map(|d| d.zone()), Ok(Zone::Eu));
        assert_eq!(Destination::parse("US").map(|d| d.zone()), Ok(Zone::World));
        assert_eq!(Destination::parse("GB").map(|d| d.zone()), Ok(Zone::World));
        assert_eq!(Destination::parse("CH").map(|d| d.zone()), Ok(Zone::World));
    }

    #[test]
    fn malformed_and_unserved_countries_are_told_apart() {
        for bad in ["de", "D", "DEU", "", "D1", "ÄÖ"] {
            assert!(
                matches!(Destination::parse(bad), Err(DestinationError::Malformed(_))),
                "{bad}"
            );
        }
        for unserved in ["BR", "CN", "XX", "RU"] {
            assert!(
                matches!(
                    Destination::parse(unserved),
                    Err(DestinationError::Unsupported(_))
                ),
                "{unserved}"
            );
        }
    }

    #[test]
    fn parcels_count_units_across_valid_lines() {
        let parcel = Parcel::parse(&[line("BK-0001", 2), line("VI-0002", 3)]).expect("valid");
        assert_eq!(parcel.units(), 5);
        assert_eq!(Parcel::parse(&[]), Err(ParcelError::LineCount(0)));
        let many: Vec<_> = (1..=51).map(|n| line(&format!("MU-{n:04}"), 1)).collect();
        assert_eq!(Parcel::parse(&many), Err(ParcelError::LineCount(51)));
        assert!(Parcel::parse(&many[..50]).is_ok());
        assert!(matches!(
            Parcel::parse(&[line("BK-0001", 0)]),
            Err(ParcelError::Quantity { .. })
        ));
        assert!(matches!(
            Parcel::parse(&[line("BK-0001", 100)]),
            Err(ParcelError::Quantity { .. })
        ));
        assert!(matches!(
            Parcel::parse(&[line("BK-0001", 1), line("XX-0001", 1)]),
            Err(ParcelError::InvalidProductId(_))
        ));
    }

    #[test]
    fn quote_ids_are_q_and_a_uuid() {
        let id = QuoteId::new();
        assert!(id.as_str().starts_with("q_"));
        assert_eq!(QuoteId::parse(id.as_str()), Some(id.clone()));
        assert_ne!(QuoteId::new(), id);
        for bad in ["", "q_", "q_nope", "3f2c0e8e-1e4b-4c2b-9a7a-0d7c1f0f9b11"] {
            assert_eq!(QuoteId::parse(bad), None, "{bad}");
        }
    }
}
