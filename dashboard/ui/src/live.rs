//! The live state every page reads. The server renders the page from the current snapshot and
//! writes that snapshot into the page (`<script id="initial-snapshot">`); the browser reads
//! it back before hydrating, so both render the same thing, then the event stream replaces it
//! with each new one (about twice a second).

use std::collections::VecDeque;

use leptos::prelude::*;

use crate::types::Snapshot;

/// The id of the script element that carries the first snapshot.
pub const INITIAL_SNAPSHOT_ID: &str = "initial-snapshot";

/// 15 minutes of one-second business points, kept in the browser (the server keeps no KPI
/// history; the charts fill as the page stays open).
pub const HISTORY_LEN: usize = 900;

/// One second of business KPIs, for the business charts.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessPoint {
    pub t: u64,
    pub orders_per_min: f64,
    /// Summed over currencies, in minor units (the shop sells in one currency).
    pub revenue_per_min: f64,
    pub conversion: Option<f64>,
    pub payment_failures_per_min: f64,
}

impl BusinessPoint {
    pub fn of(s: &Snapshot) -> Self {
        Self {
            t: s.at,
            orders_per_min: s.business.orders_per_min,
            revenue_per_min: s.business.revenue_per_min.values().sum(),
            conversion: s.business.conversion,
            payment_failures_per_min: s.business.payment_failures_per_min.values().sum(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Live {
    pub snapshot: RwSignal<Snapshot>,
    /// True while the event stream is open.
    pub connected: RwSignal<bool>,
    pub history: RwSignal<VecDeque<BusinessPoint>>,
}

impl Live {
    pub fn new(first: Snapshot) -> Self {
        let mut history = VecDeque::new();
        if first.at > 0 {
            history.push_back(BusinessPoint::of(&first));
        }
        Self {
            snapshot: RwSignal::new(first),
            connected: RwSignal::new(false),
            history: RwSignal::new(history),
        }
    }

    pub fn push(&self, snap: Snapshot) {
        self.history.update(|h| record(h, &snap));
        self.snapshot.set(snap);
    }
}

/// Adds a snapshot to the business history. Snapshots come about twice a second; the history
/// keeps one point per wall-clock second (that second's newest), at most [`HISTORY_LEN`].
fn record(h: &mut VecDeque<BusinessPoint>, snap: &Snapshot) {
    match h.back_mut() {
        Some(p) if p.t >= snap.at => {}
        Some(p) if p.t / 1000 == snap.at / 1000 => *p = BusinessPoint::of(snap),
        _ => h.push_back(BusinessPoint::of(snap)),
    }
    while h.len() > HISTORY_LEN {
        h.pop_front();
    }
}

pub fn use_live() -> Live {
    expect_context::<Live>()
}

/// The snapshot the page was rendered with: from the render context on the server, from the
/// page's script element in the browser.
pub fn initial_snapshot() -> Snapshot {
    #[cfg(feature = "ssr")]
    {
        use_context::<crate::server::Backend>()
            .map(|b| b.0.snapshot())
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(INITIAL_SNAPSHOT_ID))
            .and_then(|e| e.text_content())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        Snapshot::default()
    }
}

/// The snapshot as JSON that is safe inside a `<script>` element (`<` escaped).
pub fn script_json(s: &Snapshot) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c")
}

/// Opens the event stream (browser only): every `snapshot` event replaces the live snapshot.
/// The browser's EventSource reconnects by itself after a drop.
#[cfg(feature = "hydrate")]
pub fn connect(live: Live) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    let Ok(source) = web_sys::EventSource::new("/api/events") else {
        return;
    };
    let on_snapshot =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            if let Some(text) = ev.data().as_string()
                && let Ok(snap) = serde_json::from_str::<Snapshot>(&text)
            {
                live.connected.set(true);
                let changed = live
                    .snapshot
                    .with_untracked(|before| health_changed(before, &snap));
                let at = snap.at;
                live.push(snap);
                if changed {
                    report_shown(at);
                }
            }
        });
    let on_open = Closure::<dyn FnMut()>::new(move || live.connected.set(true));
    let on_error = Closure::<dyn FnMut()>::new(move || live.connected.set(false));
    let _ =
        source.add_event_listener_with_callback("snapshot", on_snapshot.as_ref().unchecked_ref());
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // The stream lives as long as the page: the callbacks and the source are never dropped.
    on_snapshot.forget();
    on_open.forget();
    on_error.forget();
    std::mem::forget(source);
}

/// Whether any service's health differs between two snapshots (a new service counts).
pub fn health_changed(before: &Snapshot, after: &Snapshot) -> bool {
    after.services.iter().any(|s| {
        before
            .services
            .iter()
            .find(|b| b.name == s.name)
            .is_none_or(|b| b.health != s.health)
    })
}

/// Tells the dashboard, once the next frame has been drawn, that this page showed snapshot
/// `at` (`POST /api/seen` as a beacon): a drill's "the UI showed it" stage.
#[cfg(feature = "hydrate")]
fn report_shown(at: u64) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    let Some(window) = web_sys::window() else {
        return;
    };
    let after_frame = Closure::once_into_js(move || {
        if let Some(w) = web_sys::window() {
            let _ = w
                .navigator()
                .send_beacon_with_opt_str("/api/seen", Some(&format!("{{\"at\":{at}}}")));
        }
    });
    let _ = window.request_animation_frame(after_frame.unchecked_ref());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_health_change_is_noticed_and_a_steady_state_is_not() {
        use crate::types::{Health, ServiceView};
        let with = |h: Health| Snapshot {
            services: vec![ServiceView {
                name: "payment".into(),
                health: h,
                ..ServiceView::default()
            }],
            ..Snapshot::default()
        };
        assert!(!health_changed(&with(Health::Up), &with(Health::Up)));
        assert!(health_changed(&with(Health::Up), &with(Health::Degraded)));
        assert!(health_changed(&Snapshot::default(), &with(Health::Up)));
    }

    #[test]
    fn script_json_cannot_close_its_element() {
        let s = Snapshot {
            warning: Some("</script><b>".into()),
            ..Snapshot::default()
        };
        let json = script_json(&s);
        assert!(!json.contains("</"));
        let back: Snapshot = serde_json::from_str(&json).expect("still JSON");
        assert_eq!(back.warning.as_deref(), Some("</script><b>"));
    }

    #[test]
    fn history_keeps_one_point_per_second_and_a_bounded_length() {
        let at = |ms: u64, orders: f64| {
            let mut s = Snapshot {
                at: ms,
                ..Snapshot::default()
            };
            s.business.orders_per_min = orders;
            s
        };
        let mut h = VecDeque::new();
        record(&mut h, &at(10_100, 1.0));
        record(&mut h, &at(10_600, 2.0));
        record(&mut h, &at(10_600, 9.0)); // the same snapshot again: ignored
        record(&mut h, &at(11_100, 3.0));
        let kept: Vec<(u64, f64)> = h.iter().map(|p| (p.t, p.orders_per_min)).collect();
        assert_eq!(kept, vec![(10_600, 2.0), (11_100, 3.0)]);
        for i in 0..(HISTORY_LEN as u64 + 10) {
            record(&mut h, &at(20_000 + i * 1000, 1.0));
        }
        assert_eq!(h.len(), HISTORY_LEN);
    }
}
