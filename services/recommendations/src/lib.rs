//! The recommendations service (being built).
