//! The payment API tests: one binary, a module per feature.

mod charges;
mod durability;
mod helpers;
mod ledger;
mod operational;
mod validation;
mod voids;
