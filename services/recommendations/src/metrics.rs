//! The recommendations service's metrics (Prometheus names; see the README).

use apiary_telemetry::metrics::{describe_counter, describe_gauge};

/// Answers served, by model.
pub const SERVED: &str = "shop_recommendations_served_total";
/// Orders the co-purchase model has learned from.
pub const ORDERS_LEARNED: &str = "recommendations_orders_learned";

pub fn describe() {
    apiary_bus::metrics::describe();
    describe_counter!(
        SERVED,
        "Recommendation answers served, by model (co-purchase, similar)."
    );
    describe_gauge!(
        ORDERS_LEARNED,
        "Orders the co-purchase model has learned from (rebuilt from its store at start)."
    );
}
