//! The confirmation for an order: a subject and a plain-text body, from the event alone.

use apiary_wire::Money;
use apiary_wire::events::OrderPlaced;

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// `12.99 EUR` (two decimals: every currency the shop sells in has them).
fn money(m: Money) -> String {
    let sign = if m.amount_minor < 0 { "-" } else { "" };
    let abs = m.amount_minor.unsigned_abs();
    format!(
        "{sign}{}.{:02} {}",
        abs / 100,
        abs % 100,
        m.currency.as_str()
    )
}

/// The confirmation of `event`.
pub fn confirmation(event: &OrderPlaced) -> Rendered {
    let mut body = format!("Thank you for your order {}.\n\n", event.order_id);
    for line in &event.lines {
        let line_total = Money {
            amount_minor: line
                .unit_price
                .amount_minor
                .saturating_mul(i64::from(line.quantity)),
            currency: line.unit_price.currency,
        };
        body.push_str(&format!(
            "  {:>2} x {:<40} {:>14}\n",
            line.quantity,
            line.title.chars().take(40).collect::<String>(),
            money(line_total)
        ));
    }
    body.push_str(&format!(
        "  {:<45} {:>14}\n",
        "Shipping",
        money(event.shipping)
    ));
    body.push_str(&format!("  {:<45} {:>14}\n\n", "Total", money(event.total)));
    body.push_str("We will write again when it ships.\n");
    Rendered {
        to: format!("shopper of cart {}", event.cart_id),
        subject: format!("Your Apiary order {} is confirmed", event.order_id),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiary_wire::Currency;

    #[test]
    fn the_confirmation_lists_lines_shipping_and_total() {
        let eur = Currency::EUR;
        let event = apiary_testkit::events::order_placed("ord-7", &[("BK-0001", 2)]);
        let r = confirmation(&event);
        assert_eq!(r.subject, "Your Apiary order ord-7 is confirmed");
        assert_eq!(r.to, "shopper of cart cart-of-ord-7");
        assert!(r.body.contains(" 2 x Product BK-0001"), "{}", r.body);
        assert!(r.body.contains("19.98 EUR"), "{}", r.body);
        assert!(r.body.contains("4.99 EUR"), "{}", r.body);
        assert!(r.body.contains("24.97 EUR"), "{}", r.body);
        assert_eq!(
            money(Money {
                amount_minor: 5,
                currency: eur
            }),
            "0.05 EUR"
        );
    }
}
