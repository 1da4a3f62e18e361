//! Wire types shared by services: plain serde structs, no behaviour; the one exception is
//! [`ids`], the contract's id shapes, which every service must check alike.
//!
//! # Layout
//! - [`Money`] — an amount in integer minor units with its ISO 4217 currency.
//! - [`Product`], [`ProductPage`] — what catalog serves and gateway relays.
//! - [`ErrorBody`] — the `{"error": {"code", "message"}}` body, for clients to decode.
//! - [`shop`] — every service's request and response types (cart, inventory, payment, ...).
//! - [`discovery`] — the endpoints files that say where each service's instances are.
//! - [`events`] — domain events on the message bus ([`events::OrderPlaced`]).
//! - [`ids`] — [`ids::ProductId`] and [`ids::TokenId`] (cart, order, reservation, ... ids) that
//!   parse, and [`token_id!`] for a service's own id type over the shared rule.
//!
//! Services own their domain types (which parse and validate at the edge) and convert to and
//! from these at the HTTP boundary; readers ignore unknown fields so a producer can add fields
//! without breaking its callers.

pub mod discovery;
pub mod events;
pub mod ids;
pub mod shop;

/// For [`token_id!`]'s serde impls in other crates.
#[doc(hidden)]
pub use serde as __serde;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Money in integer minor units (cents, pence) with a currency: never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Money {
    /// Amount in minor units, e.g. 1299 for 12.99.
    pub amount_minor: i64,
    /// ISO 4217 code, e.g. "EUR".
    #[schema(value_type = String, pattern = "^[A-Z]{3}$", example = "EUR")]
    pub currency: Currency,
}

/// An ISO 4217 currency code (three ASCII letters), stored inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");

    /// Three upper-case ASCII letters.
    pub fn parse(code: &str) -> Option<Self> {
        let bytes: [u8; 3] = code.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(u8::is_ascii_uppercase)
            .then_some(Currency(bytes))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("'{s}' is not an ISO 4217 currency code"))
        })
    }
}

/// A product as the catalog serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    /// e.g. `BK-0001`.
    pub id: String,
    /// `books`, `music` or `video`.
    pub category: String,
    pub title: String,
    /// Author, artist or director.
    pub creator: String,
    pub year: u16,
    /// e.g. `paperback`, `vinyl`, `blu-ray`.
    pub format: String,
    /// e.g. `mystery`, `jazz`, `noir`.
    #[serde(default)]
    pub genre: String,
    pub price: Money,
}

/// One page of a product listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductPage {
    pub items: Vec<Product>,
    /// Matches in total, across all pages.
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
}

/// `GET /categories` on the catalog: each category with its number of products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryList {
    pub items: Vec<CategoryCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryCount {
    pub name: String,
    pub count: usize,
}

/// The standard error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_codes_are_three_upper_case_letters() {
        assert_eq!(Currency::parse("EUR"), Some(Currency::EUR));
        assert_eq!(Currency::parse("eur"), None);
        assert_eq!(Currency::parse("EURO"), None);
        assert_eq!(Currency::parse("€"), None);
    }

    #[test]
    fn money_round_trips_as_minor_units_and_a_code() {
        let m = Money {
            amount_minor: 1299,
            currency: Currency::EUR,
        };
        let json = serde_json::to_string(&m).expect("serialize");
        assert_eq!(json, r#"{"amount_minor":1299,"currency":"EUR"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).expect("parse"), m);
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor":1,"currency":"eu"}"#).is_err());
    }
}
