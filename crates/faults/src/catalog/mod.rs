//! The fault catalogue: which flags exist for which service ([`base_flags`]), what a fault
//! request means ([`FaultSpec`]), and how a set of active faults becomes a flag file
//! ([`render`]). Pure data — the dashboard's control plane, the launcher and the tests share it.
//!
//! # Layout
//! - `knobs` — flag names: the per-service knobs ([`knob`]), link states ([`link`]),
//!   [`flag_key`] / [`link_key`], and the stack's [`Shape`].
//! - `flags` — [`base_flags`]: every flag of a stack at its harmless default.
//! - `spec` — [`FaultSpec`] (a fault request), [`Scope`], [`FlagChange`], [`Caps`].
//! - `validate` — [`InvalidFault`]: whether a fault applies to a stack and is within the caps,
//!   and the flag changes it makes.
//! - `display` — a fault in one line, as listings show it.
//! - `render` — [`render`] / [`render_faults`]: changes applied to a flag file ([`RenderError`]).

mod display;
mod flags;
mod knobs;
mod render;
mod spec;
mod validate;

#[cfg(test)]
mod testing;

pub use flags::base_flags;
pub use knobs::{
    CART, CATALOG, CURRENT_VERSION, PAYMENT, ServiceShape, Shape, StoreKind, flag_key, knob, link,
    link_key,
};
pub use render::{RenderError, render, render_faults};
pub use spec::{Caps, FaultSpec, FlagChange, Scope};
pub use validate::InvalidFault;
