//! Domain types that parse: once constructed, they are valid.

use std::fmt;

/// A checkout id, chosen by the caller (the gateway mints a UUID or relays the shopper's
/// `Idempotency-Key`): 1–64 of `[A-Za-z0-9_-]`. It is also the order id, the reservation id and
/// the payment idempotency key, which is what makes a retried checkout safe.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckoutId(String);

/// A cart id, same alphabet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CartId(String);

fn token(raw: &str, what: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "{what} must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'"
        ))
    }
}

impl CheckoutId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        token(raw, "checkout_id").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl CartId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        token(raw, "cart_id").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CheckoutId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 3166 alpha-2 country code (the shape only; shipping decides where it delivers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country(String);

impl Country {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err("shipping.country must be an ISO 3166 alpha-2 code such as DE".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_a_safe_alphabet_and_length() {
        assert!(CheckoutId::parse("3f2c1a9e-0b7d-4c55-9d1e-2a4b6c8d0e1f").is_ok());
        assert!(CartId::parse("cart_1").is_ok());
        for bad in ["", "a b", "../x", "é", &"x".repeat(65)] {
            assert!(CheckoutId::parse(bad).is_err(), "{bad}");
            assert!(CartId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn countries_are_two_upper_case_letters() {
        assert!(Country::parse("DE").is_ok());
        for bad in ["de", "DEU", "", "D1"] {
            assert!(Country::parse(bad).is_err(), "{bad}");
        }
    }
}
