//! The orders service's API tests: one binary, a module per feature.

mod durability;
mod feed;
mod helpers;
mod operational;
mod orders;
