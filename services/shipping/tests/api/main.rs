//! The shipping service's API tests: one binary, a module per feature.

mod helpers;
mod lookup;
mod operational;
mod quotes;
mod shipments;
mod validation;
