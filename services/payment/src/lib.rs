//! The payment service (being built).
