//! Apiary's faults as flags.
//!
//! # Layout
//! - [`flagd`] — the flagd flag-definition format and the label-says-its-value rule.
//! - [`catalog`] — which flags exist for which service, what a fault request means
//!   ([`FaultSpec`]), caps, and rendering active faults into a flag file.
//! - `runtime` (feature `runtime`) — evaluation inside a service through the OpenFeature SDK and
//!   the flagd provider (file or in-process sync), and the effects that are not per request
//!   (memory leak, CPU burn).

pub mod catalog;
pub mod flagd;
#[cfg(feature = "runtime")]
pub mod runtime;

pub use catalog::{
    Caps, FaultSpec, FlagChange, InvalidFault, RenderError, Scope, ServiceShape, Shape, StoreKind,
    base_flags, render, render_faults,
};
pub use flagd::{Flag, FlagSet, Unit, canonical_label, label_mismatches, write_flag_file};
