//! The inventory's API tests: one binary, a module per feature.

mod durability;
mod helpers;
mod operational;
mod reservations;
mod stock;
