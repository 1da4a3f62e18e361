//! Typed clients, one per downstream service.

pub mod orders;

pub use orders::OrdersClient;
