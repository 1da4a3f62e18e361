//! Typed clients, one per downstream service.

pub mod catalog;

pub use catalog::{CatalogClient, CatalogError};
