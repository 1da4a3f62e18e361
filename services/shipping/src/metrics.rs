//! The shipping service's business metrics (Prometheus names; see the README).

use apiary_telemetry::metrics::{describe_counter, describe_gauge};

/// Quotes issued, by zone.
pub const QUOTES: &str = "shop_shipping_quotes_total";
/// Shipments created from order events.
pub const SHIPMENTS_CREATED: &str = "shop_shipments_created_total";
/// Shipments the warehouse shipped.
pub const SHIPMENTS_SHIPPED: &str = "shop_shipments_shipped_total";
/// Shipments waiting for the warehouse.
pub const SHIPMENTS_PENDING: &str = "shop_shipments_pending";

pub fn describe() {
    apiary_bus::metrics::describe();
    describe_counter!(
        SHIPMENTS_CREATED,
        "Shipments created from order.placed events."
    );
    describe_counter!(SHIPMENTS_SHIPPED, "Shipments the warehouse shipped.");
    describe_gauge!(SHIPMENTS_PENDING, "Shipments waiting for the warehouse.");
    describe_counter!(
        QUOTES,
        "Shipping quotes issued, by zone (domestic, eu, world)."
    );
}
