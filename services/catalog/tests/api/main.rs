//! The catalog's API tests: one binary, a module per feature.

mod helpers;
mod operational;
mod products;
