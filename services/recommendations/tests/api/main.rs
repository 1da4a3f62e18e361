//! The recommendations API tests: one binary, a module per feature; wiremock stands in for
//! the orders service.

mod helpers;
mod learning;
mod operational;
mod resilience;
mod validation;
