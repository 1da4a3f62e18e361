//! Domain types that parse: once constructed, they are valid.

apiary_wire::token_id!(
    /// A checkout id, chosen by the caller (the gateway mints a UUID or relays the shopper's
    /// `Idempotency-Key`): 1–64 of `[A-Za-z0-9_-]`. It is also the order id, the reservation id
    /// and the payment idempotency key, which is what makes a retried checkout safe.
    pub CheckoutId,
    "checkout_id"
);

apiary_wire::token_id!(
    /// A cart id, same alphabet.
    pub CartId,
    "cart_id"
);

/// An ISO 3166 alpha-2 country code (the shape only; shipping decides where it delivers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country(String);

/// A country that is not two capital letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("shipping.country must be an ISO 3166 alpha-2 code such as DE")]
pub struct InvalidCountry;

impl Country {
    pub fn parse(raw: &str) -> Result<Self, InvalidCountry> {
        if raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidCountry)
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
