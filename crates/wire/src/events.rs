//! Domain events published on the message bus (exchange `shop.events`, routing key = event
//! name), JSON in the message body. Readers ignore unknown fields, so producers may add fields;
//! a change that readers could misread gets a new `version` (and, if it must, a new event name).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Money;
use crate::shop::OrderLine;

/// `order.placed`: the orders service recorded an order. Published from its outbox once per
/// order (at least once on the wire; the message id is the same on every publish).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderPlaced {
    /// The event's schema version (1).
    pub version: u32,
    pub order_id: String,
    pub cart_id: String,
    pub lines: Vec<OrderLine>,
    pub shipping: Money,
    pub total: Money,
    /// When orders recorded it, Unix milliseconds.
    pub placed_at_ms: i64,
}

impl OrderPlaced {
    /// The schema version this crate writes.
    pub const VERSION: u32 = 1;
    /// The routing key (event name).
    pub const NAME: &'static str = "order.placed";

    /// Refuses an event of a schema version this crate does not read.
    pub fn check_version(&self) -> Result<(), UnsupportedVersion> {
        if self.version == Self::VERSION {
            Ok(())
        } else {
            Err(UnsupportedVersion {
                found: self.version,
            })
        }
    }

    /// The message id: stable per order, so every publish of it is the same message to the
    /// consumers' inboxes.
    pub fn message_id(order_id: &str) -> String {
        format!("{}/{order_id}", Self::NAME)
    }
}

/// An `order.placed` of a schema version this crate does not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsupportedVersion {
    pub found: u32,
}

impl std::fmt::Display for UnsupportedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "order.placed version {} is not one this service reads ({})",
            self.found,
            OrderPlaced::VERSION
        )
    }
}

impl std::error::Error for UnsupportedVersion {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;

    #[test]
    fn an_event_round_trips_and_unknown_fields_are_ignored() {
        let eur = Currency::EUR;
        let event = OrderPlaced {
            version: OrderPlaced::VERSION,
            order_id: "ord-1".into(),
            cart_id: "cart-1".into(),
            lines: vec![OrderLine {
                product_id: "book-1".into(),
                title: "A book".into(),
                unit_price: Money {
                    amount_minor: 1299,
                    currency: eur,
                },
                quantity: 2,
            }],
            shipping: Money {
                amount_minor: 499,
                currency: eur,
            },
            total: Money {
                amount_minor: 3097,
                currency: eur,
            },
            placed_at_ms: 1_700_000_000_000,
        };
        let mut json = serde_json::to_value(&event).expect("serialise");
        json["added_later"] = serde_json::json!(true);
        let back: OrderPlaced = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, event);
        assert_eq!(OrderPlaced::message_id("ord-1"), "order.placed/ord-1");
    }
}
