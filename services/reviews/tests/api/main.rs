//! The reviews API tests: one binary, a module per feature.

mod durability;
mod helpers;
mod listing;
mod operational;
mod posting;
