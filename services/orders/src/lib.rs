//! The orders service (being built).
