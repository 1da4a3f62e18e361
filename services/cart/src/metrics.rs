//! The cart service's business metrics (Prometheus names; see the README). The store records
//! them as carts change.

use apiary_telemetry::metrics::{describe_counter, describe_gauge};

pub const ADDITIONS: &str = "shop_cart_additions_total";
pub const ACTIVE: &str = "shop_carts_active";
pub const UNITS: &str = "shop_cart_units";
pub const EXPIRED: &str = "shop_carts_expired_total";
pub const EVICTED: &str = "shop_carts_evicted_total";
pub const LOST: &str = "shop_carts_lost_total";

pub fn describe() {
    describe_counter!(ADDITIONS, "Successful add-to-cart requests.");
    describe_gauge!(ACTIVE, "Carts held now (not expired).");
    describe_gauge!(UNITS, "Units across all carts held now.");
    describe_counter!(EXPIRED, "Carts dropped because their time-to-live passed.");
    describe_counter!(EVICTED, "Carts dropped to make room: the store was full.");
    describe_counter!(
        LOST,
        "Carts lost with the store (the cart-store-lost fault)."
    );
}
