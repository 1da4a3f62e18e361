//! The id shapes of the contracts (see [`crate::shop`]), checked in one place.
//!
//! The shapes are part of the wire contract, so every service must accept exactly the same
//! ids; this module is the one place that says what they are. It is the only validation in
//! this crate.
//!
//! - [`ProductId`] — `BK`, `MU` or `VI`, a dash and four digits (`BK-0001`).
//! - [`TokenId`] — 1–64 characters of `[A-Za-z0-9_-]`: carts, checkouts, orders, reservations,
//!   charges, quotes and idempotency keys. A service that wants its own type for one of these
//!   declares it with [`token_id!`](crate::token_id).
//! - [`InvalidId`] — why a string is not an id, for the 4xx message.

use std::fmt;

/// Longest token id: the gateway mints UUIDs (36), callers may send their own keys.
pub const MAX_TOKEN_LEN: usize = 64;
/// [`ProductId::is_valid`] as a JSON Schema pattern (the OpenAPI documents state it).
pub const PRODUCT_ID_PATTERN: &str = "^(BK|MU|VI)-[0-9]{4}$";
/// [`TokenId::is_valid`] as a JSON Schema pattern.
pub const TOKEN_ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
/// Characters of a refused product id shown back in the message.
const SHOWN_PRODUCT_CHARS: usize = 40;
/// Characters of a refused token id shown back: enough to show one just over the limit.
const SHOWN_TOKEN_CHARS: usize = 70;

/// A product id of the shop's three departments: `BK-`, `MU-` or `VI-` and four digits.
///
/// Only the shape is checked; whether the product exists is the catalog's answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProductId(String);

impl ProductId {
    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        if Self::is_valid(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidId {
                kind: Kind::Product,
                shown: shown(raw, SHOWN_PRODUCT_CHARS),
            })
        }
    }

    /// `^(BK|MU|VI)-[0-9]{4}$`.
    pub fn is_valid(raw: &str) -> bool {
        let b = raw.as_bytes();
        b.len() == 7
            && matches!(&b[..2], b"BK" | b"MU" | b"VI")
            && b[2] == b'-'
            && b[3..].iter().all(u8::is_ascii_digit)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The documents' `ProductId` schema: a string of [`PRODUCT_ID_PATTERN`].
impl utoipa::PartialSchema for ProductId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        id_schema(
            PRODUCT_ID_PATTERN,
            "BK-0001",
            "BK, MU or VI, a dash and four digits",
        )
    }
}

impl utoipa::ToSchema for ProductId {}

/// The documents' `TokenId` schema: a string of [`TOKEN_ID_PATTERN`].
impl utoipa::PartialSchema for TokenId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        id_schema(
            TOKEN_ID_PATTERN,
            "c0ffee-42",
            "1-64 characters of A-Z, a-z, 0-9, '_' or '-'",
        )
    }
}

impl utoipa::ToSchema for TokenId {}

fn id_schema(
    pattern: &str,
    example: &str,
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .examples([example])
        .into()
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An id of 1–[`MAX_TOKEN_LEN`] characters of `[A-Za-z0-9_-]`: safe in a URL path segment,
/// a log line and a database key without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(String);

impl TokenId {
    /// `what` names the id in the message, as the caller knows it (`"cart_id"`,
    /// `"idempotency_key"`).
    pub fn parse(raw: &str, what: &'static str) -> Result<Self, InvalidId> {
        if Self::is_valid(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidId {
                kind: Kind::Token(what),
                shown: shown(raw, SHOWN_TOKEN_CHARS),
            })
        }
    }

    pub fn is_valid(raw: &str) -> bool {
        (1..=MAX_TOKEN_LEN).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a string is not an id. `Display` states the rule and shows (the start of) what was
/// sent; [`InvalidId::rule`] states the rule alone, for services that never echo input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidId {
    kind: Kind,
    /// The refused input, cut short.
    shown: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Product,
    Token(&'static str),
}

impl InvalidId {
    /// What an id of this kind must look like, without the input.
    pub fn rule(&self) -> String {
        match self.kind {
            Kind::Product => {
                "a product id is BK, MU or VI, a dash and four digits (e.g. BK-0001)".to_owned()
            }
            Kind::Token(what) => {
                format!("{what} must be 1-{MAX_TOKEN_LEN} characters of A-Z, a-z, 0-9, '_' or '-'")
            }
        }
    }
}

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Product => write!(
                f,
                "'{}' is not a product id (expected BK-, MU- or VI- and four digits, e.g. BK-0001)",
                self.shown
            ),
            Kind::Token(_) => write!(f, "{}, not '{}'", self.rule(), self.shown),
        }
    }
}

impl std::error::Error for InvalidId {}

/// For error types that carry the message as a `String` (and `?` in functions that return one).
impl From<InvalidId> for String {
    fn from(err: InvalidId) -> Self {
        err.to_string()
    }
}

fn shown(raw: &str, max_chars: usize) -> String {
    raw.chars().take(max_chars).collect()
}

/// Declares a service's own token id type, e.g. `token_id!(/// A cart id. pub CartId, "cart_id");`:
/// a newtype over [`TokenId`] with `parse` (naming the id in its error), `as_str`,
/// `into_string` and `Display`, so a cart id cannot be passed where an order id is meant.
#[macro_export]
macro_rules! token_id {
    ($(#[$doc:meta])* $vis:vis $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name($crate::ids::TokenId);

        impl $name {
            pub fn parse(raw: &str) -> ::std::result::Result<Self, $crate::ids::InvalidId> {
                $crate::ids::TokenId::parse(raw, $what).map(Self)
            }

            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            pub fn into_string(self) -> ::std::string::String {
                self.0.into_string()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        // As the plain string; reading one back parses it, so a stored id is as valid as a
        // received one.
        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(
                d: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let raw = <::std::string::String as $crate::__serde::Deserialize>::deserialize(d)?;
                Self::parse(&raw).map_err(<D::Error as $crate::__serde::de::Error>::custom)
            }
        }
    };
}

/// A page size from a query string (`?limit=`): `DEFAULT` when absent or empty, otherwise a
/// whole number from 1 to `MAX`. Every listing checks its limit this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit<const MAX: u32, const DEFAULT: u32>(u32);

impl<const MAX: u32, const DEFAULT: u32> PageLimit<MAX, DEFAULT> {
    pub fn parse(raw: Option<&str>) -> Result<Self, InvalidLimit> {
        match raw.map(str::trim) {
            None | Some("") => Ok(Self(DEFAULT)),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=MAX).contains(&n) => Ok(Self(n)),
                _ => Err(InvalidLimit { max: MAX }),
            },
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// The limit as a count of items.
    pub fn count(self) -> usize {
        self.0 as usize
    }
}

/// A `limit` that is not a whole number within its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidLimit {
    pub max: u32,
}

impl fmt::Display for InvalidLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "limit must be a whole number from 1 to {}", self.max)
    }
}

impl std::error::Error for InvalidLimit {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_patterns_accept_exactly_what_the_parsers_accept() {
        let product = regex::Regex::new(PRODUCT_ID_PATTERN).expect("pattern");
        let token = regex::Regex::new(TOKEN_ID_PATTERN).expect("pattern");
        let long = "a".repeat(64);
        let too_long = "a".repeat(65);
        for raw in [
            "BK-0001",
            "MU-9999",
            "VI-0420",
            "XX-0001",
            "bk-0001",
            "BK-001",
            "BK-00011",
            "",
            "BK-０００1",
            "BK_0001",
            "abc",
            "a_b-C9",
            "a b",
            "a/b",
            "ä",
            &long,
            &too_long,
            "\n",
        ] {
            assert_eq!(
                product.is_match(raw),
                ProductId::is_valid(raw),
                "product {raw:?}"
            );
            assert_eq!(token.is_match(raw), TokenId::is_valid(raw), "token {raw:?}");
        }
    }

    #[test]
    fn product_ids_name_a_department_and_four_digits() {
        for good in ["BK-0001", "MU-9999", "VI-0420"] {
            assert_eq!(
                ProductId::parse(good).map(ProductId::into_string),
                Ok(good.to_owned())
            );
        }
        for bad in [
            "XX-0001",
            "AB-0001",
            "bk-0001",
            "BK0001",
            "BK-001",
            "BK-00011",
            "",
            "BK-00a1",
            "ÄB-0001",
            "BK-０００1",
            "BK_0001",
        ] {
            assert!(!ProductId::is_valid(bad), "{bad}");
            assert!(ProductId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_ids_are_short_and_url_safe() {
        for good in ["a", "cart_1", "3f2c-AB_z", &"x".repeat(64)] {
            assert_eq!(
                TokenId::parse(good, "cart_id").map(|t| t.to_string()),
                Ok(good.to_owned())
            );
        }
        for bad in [
            "",
            "a b",
            "a/b",
            "../x",
            "ä",
            "cart.1",
            "a?b=c",
            &"x".repeat(65),
        ] {
            assert!(!TokenId::is_valid(bad), "{bad}");
            assert!(TokenId::parse(bad, "cart_id").is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_name_the_id_and_show_at_most_the_start_of_the_input() {
        let err = TokenId::parse("a b", "order_id").expect_err("space");
        assert_eq!(
            err.rule(),
            "order_id must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'"
        );
        assert_eq!(err.to_string(), format!("{}, not 'a b'", err.rule()));
        let long = "y".repeat(500);
        let err = TokenId::parse(&long, "cart_id").expect_err("long");
        assert!(err.to_string().contains(&"y".repeat(70)));
        assert!(!err.to_string().contains(&"y".repeat(71)));
        assert!(!err.rule().contains('y'));

        let err = ProductId::parse("XX-0001").expect_err("prefix");
        assert_eq!(
            err.to_string(),
            "'XX-0001' is not a product id (expected BK-, MU- or VI- and four digits, e.g. BK-0001)"
        );
        assert!(!err.rule().contains("XX"));
        assert_eq!(String::from(err.clone()), err.to_string());
    }

    token_id!(
        /// A test id.
        WidgetId,
        "widget_id"
    );

    #[test]
    fn declared_token_ids_parse_and_name_themselves() {
        let id = WidgetId::parse("w-1").expect("valid");
        assert_eq!((id.as_str(), id.to_string()), ("w-1", "w-1".to_owned()));
        assert_eq!(id.into_string(), "w-1");
        let err = WidgetId::parse("w 1").expect_err("space");
        assert!(err.rule().starts_with("widget_id must be"), "{err}");
    }

    #[test]
    fn page_limits_default_when_absent_and_stay_within_bounds() {
        type Limit = super::PageLimit<20, 4>;
        assert_eq!(Limit::parse(None).map(Limit::get), Ok(4));
        assert_eq!(Limit::parse(Some(" ")).map(Limit::get), Ok(4));
        assert_eq!(Limit::parse(Some("1")).map(Limit::get), Ok(1));
        assert_eq!(Limit::parse(Some(" 20 ")).map(Limit::count), Ok(20));
        for bad in ["0", "21", "-1", "four", "2.5"] {
            let err = Limit::parse(Some(bad)).expect_err(bad);
            assert_eq!(err.to_string(), "limit must be a whole number from 1 to 20");
        }
    }
}
