//! Domain types that parse: once constructed, they are valid.

/// Most recommendations one request may ask for.
pub const MAX_LIMIT: u32 = 20;
/// Recommendations given when the request does not say.
pub const DEFAULT_LIMIT: u32 = 4;

/// A product id of the shop's three departments: `BK-`, `MU-` or `VI-` and four digits.
pub use apiary_wire::ids::ProductId;

/// How many recommendations to give: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub type Limit = apiary_wire::ids::PageLimit<MAX_LIMIT, DEFAULT_LIMIT>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_ids_name_a_department_and_four_digits() {
        assert!(ProductId::parse("MU-0042").is_ok());
        for bad in ["XX-0001", "mu-0042", "MU0042", "MU-042", "MU-00042", ""] {
            assert!(ProductId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_default_to_four_and_stay_within_twenty() {
        assert_eq!(Limit::parse(None).map(Limit::get), Ok(4));
        assert_eq!(Limit::parse(Some("")).map(Limit::get), Ok(4));
        assert_eq!(Limit::parse(Some("1")).map(Limit::get), Ok(1));
        assert_eq!(Limit::parse(Some("20")).map(Limit::get), Ok(20));
        for bad in ["0", "21", "-1", "four", "2.5"] {
            assert!(Limit::parse(Some(bad)).is_err(), "{bad}");
        }
    }
}
