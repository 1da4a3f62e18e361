//! The orders service's business metrics (Prometheus names; see the README).
//!
//! Recorded only when an order is newly recorded — never for an idempotent replay — so the
//! counters agree with the order table (and with reconciliation) across retries.

use apiary_telemetry::metrics::{counter, describe_counter};
use apiary_wire::shop::Order;

pub const ORDERS_PLACED: &str = "shop_orders_placed_total";
pub const REVENUE: &str = "shop_revenue_minor_total";
pub const UNITS: &str = "shop_order_units_total";

pub fn describe() {
    apiary_bus::metrics::describe();
    describe_counter!(ORDERS_PLACED, "Orders recorded.");
    describe_counter!(
        REVENUE,
        "Order totals (lines plus shipping) in minor units, by currency."
    );
    describe_counter!(UNITS, "Units on recorded orders.");
}

/// Counts a newly recorded order.
pub fn order_placed(order: &Order) {
    counter!(ORDERS_PLACED).increment(1);
    // Validation guarantees a positive total; a negative one would be a bug, not revenue.
    let revenue = u64::try_from(order.total.amount_minor).unwrap_or(0);
    counter!(REVENUE, "currency" => order.total.currency.as_str().to_owned()).increment(revenue);
    let units: u64 = order.lines.iter().map(|l| u64::from(l.quantity)).sum();
    counter!(UNITS).increment(units);
}
