//! The inventory's business metrics (Prometheus names; see the README).
//!
//! Counters are recorded by the handlers and the sweeper only for changes the store really
//! made (an idempotent replay counts nothing). The level gauges are set from totals read on
//! the same connection right after a change commits, and again on every sweep, so they
//! converge even if two concurrent requests set them out of order.

use apiary_telemetry::metrics::{counter, describe_counter, describe_gauge, gauge};

pub const STOCKOUTS: &str = "shop_stockouts_total";
pub const RESERVATIONS: &str = "shop_reservations_total";
pub const AVAILABLE_UNITS: &str = "shop_inventory_available_units";
pub const RESERVED_UNITS: &str = "shop_inventory_reserved_units";
pub const OUT_OF_STOCK_PRODUCTS: &str = "shop_inventory_out_of_stock_products";

/// The `outcome` label of [`RESERVATIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new reservation holds stock.
    Held,
    /// A reservation was refused for lack of stock.
    OutOfStock,
    /// A hold became a sale.
    Committed,
    /// A hold was given back on request.
    Released,
    /// A hold was given back by the sweeper.
    Expired,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Held => "held",
            Outcome::OutOfStock => "out_of_stock",
            Outcome::Committed => "committed",
            Outcome::Released => "released",
            Outcome::Expired => "expired",
        }
    }
}

/// Stock summed over every product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StockTotals {
    pub available: u64,
    pub reserved: u64,
    pub sold: u64,
    pub products: u64,
    /// Products with nothing available.
    pub out_of_stock: u64,
}

pub fn describe() {
    describe_counter!(
        STOCKOUTS,
        "Reservations refused because a product lacked available stock."
    );
    describe_counter!(
        RESERVATIONS,
        "Reservation state changes by outcome: held, out_of_stock, committed, released, expired."
    );
    describe_gauge!(AVAILABLE_UNITS, "Units available to reserve, all products.");
    describe_gauge!(
        RESERVED_UNITS,
        "Units held by open reservations, all products."
    );
    describe_gauge!(OUT_OF_STOCK_PRODUCTS, "Products with no units available.");
}

pub fn reservations(outcome: Outcome, n: u64) {
    if n > 0 {
        counter!(RESERVATIONS, "outcome" => outcome.as_str()).increment(n);
    }
}

pub fn stockout() {
    counter!(STOCKOUTS, "stage" => "reservation").increment(1);
    reservations(Outcome::OutOfStock, 1);
}

/// Precision loss only above 2^53 units, far beyond any shop.
#[allow(clippy::cast_precision_loss)]
pub fn levels(totals: &StockTotals) {
    gauge!(AVAILABLE_UNITS).set(totals.available as f64);
    gauge!(RESERVED_UNITS).set(totals.reserved as f64);
    gauge!(OUT_OF_STOCK_PRODUCTS).set(totals.out_of_stock as f64);
}
