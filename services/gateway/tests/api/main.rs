//! The gateway's API tests: one binary, a module per feature; wiremock stands in for catalog.

mod helpers;
mod operational;
mod products;
