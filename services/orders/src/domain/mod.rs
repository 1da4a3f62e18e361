//! Domain types that parse: once constructed, they are valid.

use apiary_wire::Currency;
use apiary_wire::ids::{ProductId, TokenId};
use apiary_wire::shop::NewOrder;

/// Most lines one order may have (a cart is never larger).
pub const MAX_LINES: usize = apiary_wire::shop::MAX_LINES;
/// Most units of one product per line.
pub const MAX_QUANTITY: u32 = apiary_wire::shop::MAX_LINE_QUANTITY;
/// Longest product title kept on an order line.
pub const MAX_TITLE_CHARS: usize = 500;
/// Largest feed page.
pub const MAX_FEED_LIMIT: u32 = 500;
/// Feed page size when none is asked for.
pub const DEFAULT_FEED_LIMIT: u32 = 100;
/// The status of every order recorded here (later states belong to fulfilment, not built).
pub const PLACED: &str = "placed";

apiary_wire::token_id!(
    /// An order id: 1–64 characters of `[A-Za-z0-9_-]` (checkout uses its checkout id).
    pub OrderId,
    "order_id"
);

/// Why an order was refused before touching the store (all 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidOrder {
    /// The stable error code clients match on.
    pub code: &'static str,
    pub message: String,
}

fn invalid(code: &'static str, message: impl Into<String>) -> InvalidOrder {
    InvalidOrder {
        code,
        message: message.into(),
    }
}

/// A validated `POST /orders`: every id well formed, 1–50 lines of 1–99 units at positive
/// prices, one currency throughout, and `total` = the lines plus shipping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    order: NewOrder,
    units: u32,
}

impl PlaceOrder {
    pub fn parse(order: NewOrder) -> Result<Self, InvalidOrder> {
        for (field, code, value) in [
            ("order_id", "invalid_order_id", &order.order_id),
            ("cart_id", "invalid_cart_id", &order.cart_id),
            ("charge_id", "invalid_charge_id", &order.charge_id),
            (
                "reservation_id",
                "invalid_reservation_id",
                &order.reservation_id,
            ),
            ("quote_id", "invalid_quote_id", &order.quote_id),
        ] {
            TokenId::parse(value, field).map_err(|e| invalid(code, e.to_string()))?;
        }
        if order.lines.is_empty() || order.lines.len() > MAX_LINES {
            return Err(invalid(
                "invalid_lines",
                format!(
                    "an order has 1 to {MAX_LINES} lines, not {}",
                    order.lines.len()
                ),
            ));
        }
        let currency = order.total.currency;
        let mut lines_total: i64 = 0;
        let mut units: u32 = 0;
        for line in &order.lines {
            let id = &line.product_id;
            ProductId::parse(id).map_err(|e| invalid("invalid_product_id", e.to_string()))?;
            let title_chars = line.title.trim().chars().count();
            if title_chars == 0 || title_chars > MAX_TITLE_CHARS {
                return Err(invalid(
                    "invalid_title",
                    format!("the title of {id} must be 1 to {MAX_TITLE_CHARS} characters"),
                ));
            }
            if !(1..=MAX_QUANTITY).contains(&line.quantity) {
                return Err(invalid(
                    "invalid_quantity",
                    format!(
                        "quantity of {id} must be 1 to {MAX_QUANTITY}, not {}",
                        line.quantity
                    ),
                ));
            }
            if line.unit_price.amount_minor <= 0 {
                return Err(invalid(
                    "invalid_price",
                    format!("the unit price of {id} must be positive"),
                ));
            }
            check_currency(currency, line.unit_price.currency, &format!("{id}'s price"))?;
            lines_total = line
                .unit_price
                .amount_minor
                .checked_mul(i64::from(line.quantity))
                .and_then(|amount| lines_total.checked_add(amount))
                .ok_or_else(|| invalid("invalid_price", "the order's amounts are too large"))?;
            units += line.quantity;
        }
        if order.shipping.amount_minor < 0 {
            return Err(invalid("invalid_price", "shipping cannot be negative"));
        }
        check_currency(currency, order.shipping.currency, "shipping")?;
        let expected = lines_total
            .checked_add(order.shipping.amount_minor)
            .ok_or_else(|| invalid("invalid_price", "the order's amounts are too large"))?;
        if order.total.amount_minor != expected {
            return Err(invalid(
                "total_mismatch",
                format!(
                    "total is {} but the lines ({lines_total}) plus shipping ({}) make {expected} (minor units)",
                    order.total.amount_minor, order.shipping.amount_minor
                ),
            ));
        }
        Ok(Self { order, units })
    }

    pub fn order(&self) -> &NewOrder {
        &self.order
    }

    pub fn into_order(self) -> NewOrder {
        self.order
    }

    pub fn order_id(&self) -> &str {
        &self.order.order_id
    }

    /// Units over all lines (at most 50 × 99).
    pub fn units(&self) -> u32 {
        self.units
    }

    pub fn currency(&self) -> Currency {
        self.order.total.currency
    }
}

fn check_currency(expected: Currency, found: Currency, what: &str) -> Result<(), InvalidOrder> {
    if expected == found {
        Ok(())
    } else {
        Err(invalid(
            "currency_mismatch",
            format!(
                "{what} is in {} but the total is in {}; an order has one currency",
                found.as_str(),
                expected.as_str()
            ),
        ))
    }
}

/// `GET /orders?after_seq=&limit=`: orders with `seq > after_seq`, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedQuery {
    pub after_seq: i64,
    pub limit: u32,
}

impl FeedQuery {
    /// Err carries the error code (`invalid_after_seq` or `invalid_limit`) and a message.
    pub fn parse(
        after_seq: Option<&str>,
        limit: Option<&str>,
    ) -> Result<Self, (&'static str, String)> {
        let after_seq = match after_seq.map(str::trim) {
            None | Some("") => 0,
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if n >= 0 => n,
                _ => {
                    return Err((
                        "invalid_after_seq",
                        "after_seq must be a whole number, 0 or more".to_owned(),
                    ));
                }
            },
        };
        let limit = match limit.map(str::trim) {
            None | Some("") => DEFAULT_FEED_LIMIT,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=MAX_FEED_LIMIT).contains(&n) => n,
                _ => {
                    return Err((
                        "invalid_limit",
                        format!("limit must be a whole number from 1 to {MAX_FEED_LIMIT}"),
                    ));
                }
            },
        };
        Ok(Self { after_seq, limit })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use apiary_wire::Money;
    use apiary_wire::shop::OrderLine;

    pub(crate) fn eur(amount_minor: i64) -> Money {
        Money {
            amount_minor,
            currency: Currency::EUR,
        }
    }

    /// A valid order: 2 × 1000 + 1 × 550 + 495 shipping = 3045.
    pub(crate) fn new_order(id: &str) -> NewOrder {
        NewOrder {
            order_id: id.to_owned(),
            cart_id: "cart-1".to_owned(),
            lines: vec![
                OrderLine {
                    product_id: "BK-0001".to_owned(),
                    title: "The Distant Forest".to_owned(),
                    unit_price: eur(1000),
                    quantity: 2,
                },
                OrderLine {
                    product_id: "MU-0002".to_owned(),
                    title: "Kind of Blue".to_owned(),
                    unit_price: eur(550),
                    quantity: 1,
                },
            ],
            shipping: eur(495),
            total: eur(3045),
            charge_id: "ch_1".to_owned(),
            reservation_id: id.to_owned(),
            quote_id: "q-1".to_owned(),
        }
    }

    fn code_of(order: NewOrder) -> &'static str {
        PlaceOrder::parse(order).expect_err("invalid").code
    }

    #[test]
    fn a_consistent_order_parses_and_counts_its_units() {
        let ok = PlaceOrder::parse(new_order("o-1")).expect("valid");
        assert_eq!(ok.units(), 3);
        assert_eq!(ok.currency(), Currency::EUR);
        let mut free_shipping = new_order("o-2");
        free_shipping.shipping = eur(0);
        free_shipping.total = eur(2550);
        assert!(PlaceOrder::parse(free_shipping).is_ok());
    }

    #[test]
    fn every_id_is_checked_by_name() {
        type Field = fn(&mut NewOrder) -> &mut String;
        let cases: [(Field, &str); 5] = [
            (|o| &mut o.order_id, "invalid_order_id"),
            (|o| &mut o.cart_id, "invalid_cart_id"),
            (|o| &mut o.charge_id, "invalid_charge_id"),
            (|o| &mut o.reservation_id, "invalid_reservation_id"),
            (|o| &mut o.quote_id, "invalid_quote_id"),
        ];
        for (field, code) in cases {
            for bad in ["", "a b", "ä", &"x".repeat(65)] {
                let mut o = new_order("o");
                *field(&mut o) = bad.to_owned();
                assert_eq!(code_of(o), code, "{bad:?}");
            }
            let mut o = new_order("o");
            *field(&mut o) = "x".repeat(64);
            assert!(PlaceOrder::parse(o).is_ok(), "{code}");
        }
    }

    #[test]
    fn lines_are_checked() {
        let mut o = new_order("o");
        o.lines.clear();
        assert_eq!(code_of(o), "invalid_lines");
        let mut o = new_order("o");
        let line = o.lines[1].clone();
        o.lines = vec![line; 51];
        assert_eq!(code_of(o), "invalid_lines");
        let mut o = new_order("o");
        o.lines[0].product_id = "XX-0001".to_owned();
        assert_eq!(code_of(o), "invalid_product_id");
        let mut o = new_order("o");
        o.lines[0].title = "  ".to_owned();
        assert_eq!(code_of(o), "invalid_title");
        for q in [0, 100] {
            let mut o = new_order("o");
            o.lines[0].quantity = q;
            assert_eq!(code_of(o), "invalid_quantity");
        }
        for p in [0, -5] {
            let mut o = new_order("o");
            o.lines[0].unit_price = eur(p);
            assert_eq!(code_of(o), "invalid_price");
        }
        let mut o = new_order("o");
        o.shipping = eur(-1);
        assert_eq!(code_of(o), "invalid_price");
        let mut o = new_order("o");
        o.lines[0].unit_price = eur(i64::MAX / 2);
        assert_eq!(code_of(o), "invalid_price");
    }

    #[test]
    fn one_currency_and_a_matching_total() {
        let usd = Currency::parse("USD").expect("usd");
        let mut o = new_order("o");
        o.lines[1].unit_price.currency = usd;
        assert_eq!(code_of(o), "currency_mismatch");
        let mut o = new_order("o");
        o.shipping.currency = usd;
        assert_eq!(code_of(o), "currency_mismatch");
        let mut o = new_order("o");
        o.total.currency = usd;
        assert_eq!(code_of(o), "currency_mismatch");
        for total in [3044, 3046, 2550] {
            let mut o = new_order("o");
            o.total = eur(total);
            assert_eq!(code_of(o), "total_mismatch", "{total}");
        }
    }

    #[test]
    fn feed_queries_default_and_bound() {
        assert_eq!(
            FeedQuery::parse(None, None),
            Ok(FeedQuery {
                after_seq: 0,
                limit: 100
            })
        );
        assert_eq!(
            FeedQuery::parse(Some("42"), Some("500")),
            Ok(FeedQuery {
                after_seq: 42,
                limit: 500
            })
        );
        for (after, limit, code) in [
            (Some("-1"), None, "invalid_after_seq"),
            (Some("x"), None, "invalid_after_seq"),
            (None, Some("0"), "invalid_limit"),
            (None, Some("501"), "invalid_limit"),
            (None, Some("-3"), "invalid_limit"),
        ] {
            assert_eq!(FeedQuery::parse(after, limit).expect_err(code).0, code);
        }
    }

    #[test]
    fn order_ids_parse() {
        assert!(OrderId::parse("9f1c-AB_2").is_ok());
        assert!(OrderId::parse("no/slash").is_err());
    }
}
