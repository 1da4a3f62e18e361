//! The checkout service's API tests: one binary, one module per feature.

mod helpers;

mod compensation;
mod saga;
mod validation;
