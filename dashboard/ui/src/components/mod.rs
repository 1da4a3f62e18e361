//! Pieces the pages share.

pub mod cause;
pub mod chart;
pub mod slo;
pub mod status;

pub use chart::{Line, LineChart, Sparkline};
pub use status::{Banners, EmptyState, ErrorBox, HealthBadge, Kpi};
