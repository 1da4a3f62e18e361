//! Types that parse at the edge: once a handler holds one, the value is valid, and nothing
//! malformed is ever sent to a downstream.

use std::fmt;

use apiary_wire::ids::TokenId;

/// Why a value from the shopper was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    /// A malformed id (400).
    #[error("{what} must be 1-{MAX_ID_LEN} characters of A-Z, a-z, 0-9, '_' or '-'")]
    Id { what: &'static str },
    /// A quantity outside what the shop sells in one line (422).
    #[error("quantity must be a whole number from {min} to {MAX_QUANTITY}")]
    Quantity { min: u32 },
}

/// Longest id accepted (the contracts' id rule, [`apiary_wire::ids`]).
pub const MAX_ID_LEN: usize = apiary_wire::ids::MAX_TOKEN_LEN;
/// Most units of one product in a cart line.
pub const MAX_QUANTITY: u32 = apiary_wire::shop::MAX_LINE_QUANTITY;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, InvalidInput> {
                if TokenId::is_valid(value) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(InvalidInput::Id { what: $what })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A product id such as `BK-0001`. Only the common id shape is checked here (it is safe
    /// in a downstream path); the product id's own shape, and whether it exists, are the
    /// catalog's answer.
    ProductId,
    "a product id"
);
id_type!(
    /// A cart id (the gateway mints UUIDs; the contract allows any id of the common shape).
    CartId,
    "a cart id"
);
id_type!(
    /// A checkout id: the `Idempotency-Key` of a checkout. It becomes the order id, the
    /// reservation id and the payment's idempotency key downstream.
    CheckoutId,
    "an Idempotency-Key"
);
id_type!(
    /// An order id (equal to the checkout id that created it).
    OrderId,
    "an order id"
);

impl CartId {
    /// A fresh cart id (UUID v4: unguessable, so a cart id in a cookie is its own secret).
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

impl CheckoutId {
    /// A fresh checkout id, for a checkout that came without an `Idempotency-Key`.
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

/// Units of one product to add to a cart line: 1 to [`MAX_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(u32);

impl Quantity {
    /// Takes any integer so that a negative or huge quantity gets the same answer as 0.
    pub fn parse(value: i64) -> Result<Self, InvalidInput> {
        match u32::try_from(value) {
            Ok(v) if (1..=MAX_QUANTITY).contains(&v) => Ok(Self(v)),
            _ => Err(InvalidInput::Quantity { min: 1 }),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// A cart line's new quantity: 0 (removes the line) to [`MAX_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineQuantity(u32);

impl LineQuantity {
    pub fn parse(value: i64) -> Result<Self, InvalidInput> {
        match u32::try_from(value) {
            Ok(v) if v <= MAX_QUANTITY => Ok(Self(v)),
            _ => Err(InvalidInput::Quantity { min: 0 }),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_contract_shape() {
        assert!(ProductId::parse("BK-0001").is_ok());
        assert!(CartId::parse("3f2b6c1e-9a7d-4c1e-8b2a-0c9d8e7f6a5b").is_ok());
        assert!(CheckoutId::parse("order_42").is_ok());
        assert!(ProductId::parse("").is_err());
        assert!(ProductId::parse(&"A".repeat(65)).is_err());
        assert!(ProductId::parse(&"A".repeat(64)).is_ok());
        for bad in ["../admin", "BK 0001", "a?b=c", "ü", "<script>"] {
            assert!(ProductId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn random_ids_parse_as_ids() {
        let cart = CartId::new_random();
        assert_eq!(CartId::parse(cart.as_str()), Ok(cart.clone()));
        assert_ne!(cart, CartId::new_random());
        assert!(CheckoutId::parse(CheckoutId::new_random().as_str()).is_ok());
    }

    #[test]
    fn quantities_are_bounded() {
        assert!(Quantity::parse(0).is_err());
        assert_eq!(Quantity::parse(1).map(Quantity::get), Ok(1));
        assert_eq!(Quantity::parse(99).map(Quantity::get), Ok(99));
        assert!(Quantity::parse(100).is_err());
        assert!(Quantity::parse(-1).is_err());
        assert!(Quantity::parse(i64::from(u32::MAX) + 2).is_err());
        assert_eq!(LineQuantity::parse(0).map(LineQuantity::get), Ok(0));
        assert!(LineQuantity::parse(100).is_err());
        assert!(LineQuantity::parse(-1).is_err());
    }
}
