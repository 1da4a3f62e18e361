//! Domain types that parse: once constructed, they are valid.

use std::collections::HashSet;

use apiary_wire::shop::{LineItem, ReserveRequest};

/// Most lines one reservation may hold (a cart is never larger).
pub const MAX_LINES: usize = apiary_wire::shop::MAX_LINES;
/// Most units of one product per line.
pub const MAX_QUANTITY: u32 = apiary_wire::shop::MAX_LINE_QUANTITY;
/// Most ids one `GET /stock?ids=` may ask for.
pub const MAX_STOCK_IDS: usize = 100;

/// A product id: `BK`, `MU` or `VI`, a dash, four digits (`BK-0001`).
pub use apiary_wire::ids::ProductId;

apiary_wire::token_id!(
    /// A reservation id: 1–64 characters of `[A-Za-z0-9_-]` (checkout uses its checkout id).
    pub ReservationId,
    "reservation_id"
);

/// One validated reservation line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveLine {
    pub product_id: ProductId,
    /// 1 to [`MAX_QUANTITY`].
    pub quantity: u32,
}

/// Why a reservation request was refused before touching the store (all 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidReservation {
    #[error("{0}")]
    ReservationId(String),
    #[error("{0}")]
    ProductId(String),
    #[error("{0}")]
    Quantity(String),
    #[error("{0}")]
    Lines(String),
    #[error("{0} appears on more than one line; merge the lines")]
    DuplicateLine(String),
}

impl InvalidReservation {
    /// The stable error code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            InvalidReservation::ReservationId(_) => "invalid_reservation_id",
            InvalidReservation::ProductId(_) => "invalid_product_id",
            InvalidReservation::Quantity(_) => "invalid_quantity",
            InvalidReservation::Lines(_) => "invalid_lines",
            InvalidReservation::DuplicateLine(_) => "duplicate_line",
        }
    }
}

/// A validated `POST /reservations`: an id and 1–50 lines, each product at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveStock {
    pub id: ReservationId,
    /// In the order the caller sent them (and answered back in that order).
    pub lines: Vec<ReserveLine>,
}

impl ReserveStock {
    pub fn parse(req: ReserveRequest) -> Result<Self, InvalidReservation> {
        let id = ReservationId::parse(&req.reservation_id)
            .map_err(|e| InvalidReservation::ReservationId(e.to_string()))?;
        if req.items.is_empty() || req.items.len() > MAX_LINES {
            return Err(InvalidReservation::Lines(format!(
                "a reservation has 1 to {MAX_LINES} lines, not {}",
                req.items.len()
            )));
        }
        let mut seen = HashSet::with_capacity(req.items.len());
        let mut lines = Vec::with_capacity(req.items.len());
        for LineItem {
            product_id,
            quantity,
        } in req.items
        {
            let product_id = ProductId::parse(&product_id)
                .map_err(|e| InvalidReservation::ProductId(e.to_string()))?;
            if !(1..=MAX_QUANTITY).contains(&quantity) {
                return Err(InvalidReservation::Quantity(format!(
                    "quantity of {product_id} must be 1 to {MAX_QUANTITY}, not {quantity}"
                )));
            }
            if !seen.insert(product_id.clone()) {
                return Err(InvalidReservation::DuplicateLine(product_id.into_string()));
            }
            lines.push(ReserveLine {
                product_id,
                quantity,
            });
        }
        Ok(Self { id, lines })
    }

    /// The lines as a sorted list of (product, quantity): two requests ask for the same thing
    /// when these are equal, whatever order their lines came in.
    pub fn canonical_lines(&self) -> Vec<(String, u32)> {
        canonical(
            self.lines
                .iter()
                .map(|l| (l.product_id.as_str().to_owned(), l.quantity)),
        )
    }
}

/// Sorted (product, quantity) pairs, the form reservations are compared in.
pub fn canonical(lines: impl Iterator<Item = (String, u32)>) -> Vec<(String, u32)> {
    let mut lines: Vec<_> = lines.collect();
    lines.sort();
    lines
}

/// `GET /stock?ids=a,b,c`: up to 100 distinct product ids, in the order asked (duplicates and
/// empty entries dropped). An empty list (`?ids=`) asks for no products, not for all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockQuery(Vec<ProductId>);

impl StockQuery {
    /// Err carries the error code (`invalid_product_id` or `invalid_ids`) and a message.
    pub fn parse(raw: &str) -> Result<Self, (&'static str, String)> {
        let parts: Vec<&str> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if parts.len() > MAX_STOCK_IDS {
            return Err((
                "invalid_ids",
                format!(
                    "ids lists {} products; at most {MAX_STOCK_IDS} per request",
                    parts.len()
                ),
            ));
        }
        let mut ids: Vec<ProductId> = Vec::with_capacity(parts.len());
        for part in parts {
            let id = ProductId::parse(part).map_err(|e| ("invalid_product_id", e.to_string()))?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(Self(ids))
    }

    pub fn ids(&self) -> &[ProductId] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: &str, items: &[(&str, u32)]) -> ReserveRequest {
        ReserveRequest {
            reservation_id: id.to_owned(),
            items: items
                .iter()
                .map(|(p, q)| LineItem {
                    product_id: (*p).to_owned(),
                    quantity: *q,
                })
                .collect(),
        }
    }

    #[test]
    fn product_ids_are_a_known_prefix_and_four_digits() {
        for good in ["BK-0001", "MU-9999", "VI-0420"] {
            assert!(ProductId::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "XX-0001", "bk-0001", "BK0001", "BK-001", "BK-00011", "", "BK-00a1", "ÄB-0001",
        ] {
            assert!(ProductId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reservation_ids_are_short_and_url_safe() {
        assert!(ReservationId::parse("a").is_ok());
        assert!(ReservationId::parse(&"x".repeat(64)).is_ok());
        assert!(ReservationId::parse("3f2b-C_9").is_ok());
        for bad in ["", "has space", "slash/", "dot.", "é", &"x".repeat(65)] {
            assert!(ReservationId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reservations_parse_or_name_the_problem() {
        let ok =
            ReserveStock::parse(request("r1", &[("MU-0002", 2), ("BK-0001", 99)])).expect("valid");
        assert_eq!(ok.lines.len(), 2);
        assert_eq!(
            ok.canonical_lines(),
            vec![("BK-0001".to_owned(), 99), ("MU-0002".to_owned(), 2)]
        );
        let many: Vec<(String, u32)> = (1..=51).map(|i| (format!("BK-{i:04}"), 1)).collect();
        let many: Vec<(&str, u32)> = many.iter().map(|(p, q)| (p.as_str(), *q)).collect();
        let cases = [
            (
                request("bad id", &[("BK-0001", 1)]),
                "invalid_reservation_id",
            ),
            (request("r", &[]), "invalid_lines"),
            (request("r", &many), "invalid_lines"),
            (request("r", &[("BK-1", 1)]), "invalid_product_id"),
            (request("r", &[("BK-0001", 0)]), "invalid_quantity"),
            (request("r", &[("BK-0001", 100)]), "invalid_quantity"),
            (
                request("r", &[("BK-0001", 1), ("BK-0001", 2)]),
                "duplicate_line",
            ),
        ];
        for (req, code) in cases {
            let err = ReserveStock::parse(req.clone()).expect_err(code);
            assert_eq!(err.code(), code, "{req:?}");
        }
        assert!(ReserveStock::parse(request("r", &many[..50])).is_ok());
    }

    #[test]
    fn stock_queries_dedupe_and_bound_the_ids() {
        let q = StockQuery::parse("BK-0001, MU-0002,BK-0001,").expect("valid");
        let ids: Vec<&str> = q.ids().iter().map(ProductId::as_str).collect();
        assert_eq!(ids, ["BK-0001", "MU-0002"]);
        assert_eq!(StockQuery::parse("").map(|q| q.ids().len()), Ok(0));
        assert_eq!(StockQuery::parse(" , ").map(|q| q.ids().len()), Ok(0));
        assert_eq!(
            StockQuery::parse("BK-0001,nope").expect_err("bad").0,
            "invalid_product_id"
        );
        let ids: Vec<String> = (1..=101).map(|i| format!("BK-{i:04}")).collect();
        assert_eq!(
            StockQuery::parse(&ids.join(",")).expect_err("too many").0,
            "invalid_ids"
        );
        assert!(StockQuery::parse(&ids[..100].join(",")).is_ok());
    }
}
