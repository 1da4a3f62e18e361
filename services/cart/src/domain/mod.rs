//! Domain types that parse: once constructed, they are valid.

/// Most units of one product in a cart.
pub const MAX_LINE_UNITS: u32 = apiary_wire::shop::MAX_LINE_QUANTITY;
/// Most distinct products in a cart.
pub const MAX_LINES: usize = apiary_wire::shop::MAX_LINES;

apiary_wire::token_id!(
    /// A cart id: 1–64 characters of `[A-Za-z0-9_-]` (the gateway mints UUIDs).
    pub CartId,
    "cart_id"
);

/// A product id of the shop's three departments: `BK-`, `MU-` or `VI-` and four digits.
///
/// The cart does not know the catalog; whether the product exists is the gateway's check.
pub use apiary_wire::ids::ProductId;

/// A quantity out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("quantity must be from 1 to {MAX_LINE_UNITS}, got {0}")]
    Add(u32),
    #[error("a line may hold at most {MAX_LINE_UNITS} units, asked for {0}")]
    Set(u32),
}

/// Units added to a line in one request: 1 to 99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AddQuantity(u32);

impl AddQuantity {
    pub fn parse(raw: u32) -> Result<Self, QuantityError> {
        if (1..=MAX_LINE_UNITS).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(QuantityError::Add(raw))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// A line's new quantity: 0 (removes the line) to 99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SetQuantity(u32);

impl SetQuantity {
    pub fn parse(raw: u32) -> Result<Self, QuantityError> {
        if raw <= MAX_LINE_UNITS {
            Ok(Self(raw))
        } else {
            Err(QuantityError::Set(raw))
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
    fn cart_ids_are_short_and_url_safe() {
        for good in ["a", "cart_1", "3f2c-AB_z", &"x".repeat(64)] {
            assert!(CartId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "a/b", "ä", "cart.1", &"x".repeat(65)] {
            assert!(CartId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn product_ids_name_a_department_and_four_digits() {
        for good in ["BK-0001", "MU-9999", "VI-0420"] {
            assert!(ProductId::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "XX-0001", "bk-0001", "BK0001", "BK-001", "BK-00001", "BK-00a1", "",
        ] {
            assert!(ProductId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantities_stay_within_a_line() {
        assert!(AddQuantity::parse(0).is_err());
        assert_eq!(AddQuantity::parse(1).map(AddQuantity::get), Ok(1));
        assert_eq!(AddQuantity::parse(99).map(AddQuantity::get), Ok(99));
        assert!(AddQuantity::parse(100).is_err());
        assert_eq!(SetQuantity::parse(0).map(SetQuantity::get), Ok(0));
        assert!(SetQuantity::parse(99).is_ok());
        assert!(SetQuantity::parse(100).is_err());
    }
}
