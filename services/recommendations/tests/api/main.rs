//! The recommendations API tests: one binary, a module per feature; the order events come from
//! a real RabbitMQ node.

mod helpers;
mod learning;
mod operational;
mod validation;
