//! The notifications service over HTTP, consuming from a real RabbitMQ node.

mod helpers;
mod notifications;
