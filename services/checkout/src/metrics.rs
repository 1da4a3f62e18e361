//! The checkout's metrics (Prometheus names; see the README): the funnel's business numbers
//! and the clean-up the saga owes.

use apiary_telemetry::metrics::{describe_counter, describe_gauge};

/// Checkouts that began a saga.
pub const STARTED: &str = "shop_checkouts_started_total";
/// Checkouts that ended with a recorded order.
pub const COMPLETED: &str = "shop_checkouts_completed_total";
/// Checkouts that ended without an order, by reason.
pub const FAILED: &str = "shop_orders_failed_total";
/// Compensation attempts, by task and outcome.
pub const COMPENSATIONS: &str = "checkout_compensations_total";
/// Compensations owed and not yet done.
pub const COMPENSATIONS_PENDING: &str = "checkout_compensations_pending";

pub fn describe() {
    describe_counter!(STARTED, "Checkouts that began a saga.");
    describe_counter!(COMPLETED, "Checkouts that ended with a recorded order.");
    describe_counter!(FAILED, "Checkouts that ended without an order, by reason.");
    describe_counter!(
        COMPENSATIONS,
        "Compensation attempts (release stock, void a charge), by task and outcome."
    );
    describe_gauge!(
        COMPENSATIONS_PENDING,
        "Compensations owed by failed checkouts and not yet done."
    );
}
