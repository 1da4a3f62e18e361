//! The reviews service (being built).
