//! The gateway's metrics (Prometheus names; see the README): what shoppers look at, and the
//! page parts they did without.

use apiary_telemetry::metrics::describe_counter;

/// Product pages served.
pub const PRODUCT_VIEWS: &str = "shop_product_views_total";
/// Stock-outs, by stage; the gateway counts the ones seen at the cart (inventory those at
/// reservation).
pub const STOCKOUTS: &str = "shop_stockouts_total";
/// Product pages served without one of their optional parts, by part.
pub const PART_UNAVAILABLE: &str = "gateway_product_page_part_unavailable_total";

pub fn describe() {
    describe_counter!(PRODUCT_VIEWS, "Product pages served.");
    describe_counter!(
        STOCKOUTS,
        "Shoppers who wanted more than was left, by stage (cart here, reservation at inventory)."
    );
    describe_counter!(
        PART_UNAVAILABLE,
        "Product pages served without an optional part (reviews, recommendations, stock), by part."
    );
}
