//! The shipping service's business metrics (Prometheus names; see the README).

use apiary_telemetry::metrics::describe_counter;

/// Quotes issued, by zone.
pub const QUOTES: &str = "shop_shipping_quotes_total";

pub fn describe() {
    describe_counter!(
        QUOTES,
        "Shipping quotes issued, by zone (domestic, eu, world)."
    );
}
