//! One module per page.

pub mod business;
pub mod compare;
pub mod drills;
pub mod logs;
pub mod map;
pub mod overview;
pub mod service;
pub mod trace;
pub mod traces;
