//! The checkout service's API tests: one binary, one module per feature.

mod helpers;

mod compensation;
mod durability;
mod saga;
mod validation;
