//! The cart's API tests: one binary, a module per feature.

mod carts;
mod expiry;
mod helpers;
mod operational;
mod validation;
