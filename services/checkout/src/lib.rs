//! The checkout service (being built).
