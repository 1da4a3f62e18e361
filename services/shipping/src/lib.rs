//! The shipping service (being built).
