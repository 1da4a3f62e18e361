//! The inventory service (being built).
