//! Order events as the orders service writes them, for the consumers' tests.

use apiary_wire::events::OrderPlaced;
use apiary_wire::shop::OrderLine;
use apiary_wire::{Currency, Money};

/// What a unit costs in these events (9.99 EUR), and the shipping (4.99 EUR).
pub const UNIT_PRICE_MINOR: i64 = 999;
pub const SHIPPING_MINOR: i64 = 499;

/// `order.placed` for `order_id`: each `(product_id, quantity)` a line at
/// [`UNIT_PRICE_MINOR`], plus shipping, with the total they add up to.
pub fn order_placed(order_id: &str, lines: &[(&str, u32)]) -> OrderPlaced {
    let eur = |amount_minor| Money {
        amount_minor,
        currency: Currency::EUR,
    };
    let lines: Vec<OrderLine> = lines
        .iter()
        .map(|&(product_id, quantity)| OrderLine {
            product_id: product_id.to_owned(),
            title: format!("Product {product_id}"),
            unit_price: eur(UNIT_PRICE_MINOR),
            quantity,
        })
        .collect();
    let items: i64 = lines
        .iter()
        .map(|l| l.unit_price.amount_minor * i64::from(l.quantity))
        .sum();
    OrderPlaced {
        version: OrderPlaced::VERSION,
        order_id: order_id.to_owned(),
        cart_id: format!("cart-of-{order_id}"),
        lines,
        shipping: eur(SHIPPING_MINOR),
        total: eur(items + SHIPPING_MINOR),
        placed_at_ms: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_the_lines_plus_shipping() {
        let e = order_placed("o-1", &[("BK-0001", 2), ("MU-0002", 1)]);
        assert_eq!(e.total.amount_minor, 3 * UNIT_PRICE_MINOR + SHIPPING_MINOR);
        assert_eq!(e.lines[0].quantity, 2);
        assert!(e.check_version().is_ok());
    }
}
