//! Business metrics: names and descriptions, described once at start-up by the chassis.

use apiary_telemetry::metrics::{counter, describe_counter};

/// Order confirmations rendered and stored.
pub const SENT: &str = "shop_notifications_sent_total";

pub fn describe() {
    apiary_bus::metrics::describe();
    describe_counter!(SENT, "Order confirmation messages rendered and stored.");
}

/// Counts one stored confirmation.
pub fn sent() {
    counter!(SENT).increment(1);
}
