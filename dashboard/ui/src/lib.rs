//! The Apiary dashboard UI: Leptos pages rendered by the dashboard server (feature `ssr`) and
//! hydrated in the browser (feature `hydrate`, built to wasm by `apiary-ui-build`), kept live by the
//! server's `/api/events` stream.
//!
//! # Layout
//! - [`app`] — `shell` (the HTML document) and `App`: the router, the header, keyboard
//!   shortcuts and presenter mode.
//! - [`live`] — the live snapshot every page reads: first from the page itself (rendered on the
//!   server), then from the event stream, plus the client-side history of business KPIs.
//! - [`api`] — reading the JSON API from components, in process on the server and with
//!   `fetch` in the browser.
//! - [`pages`] — overview, service, business, traces (search and waterfall), logs, service map.
//! - [`components`] — health badges, banners, empty states, SVG charts and sparklines.
//! - [`types`] — the API's JSON; [`format`] — numbers and times; [`waterfall`] — span tree and
//!   critical path; [`map_layout`] — where the service map puts its nodes.
//! - [`server`] (`ssr`) — the axum routes the dashboard server mounts: pages and bundle files.

// Leptos views are deeply nested types; release builds (no type erasure) need the headroom.
#![recursion_limit = "512"]

pub mod api;
pub mod app;
pub mod components;
pub mod format;
pub mod live;
pub mod map_layout;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;
pub mod types;
pub mod waterfall;

/// The wasm entry point: attaches the server-rendered page to the reactive app.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
