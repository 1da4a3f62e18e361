//! Service level objectives as the pages show them: a one-line budget summary on each overview
//! tile, the burn alerts as banners, and the full table (objective, burn per window, budget
//! left) on the service page.

use leptos::prelude::*;

use crate::format;
use crate::types::{ServiceView, SloStatus};

/// A burn rate: "0.0x", "14x", "–" without requests.
pub fn burn(b: Option<f64>) -> String {
    match b {
        None => "–".into(),
        Some(b) if b < 10.0 => format!("{b:.1}x"),
        Some(b) => format!("{b:.0}x"),
    }
}

/// What an objective promises: "99.5% without a 5xx", "99.0% within 250 ms".
pub fn objective(s: &SloStatus) -> String {
    let share = format::percent(s.objective);
    match s.threshold_ms {
        Some(ms) => format!("{share} within {ms} ms"),
        None => format!("{share} without a 5xx"),
    }
}

/// The budget left, clamped for display at "-999%" (a broken objective).
pub fn budget_left(s: &SloStatus) -> String {
    s.budget_remaining
        .map_or_else(|| "–".into(), |r| format::percent(r.max(-9.99)))
}

/// The tile's line: "budget left 100% · 98.2%" (availability · latency).
pub fn tile_line(v: &ServiceView) -> String {
    if v.slos.iter().all(|s| s.budget_remaining.is_none()) {
        return String::new();
    }
    let parts: Vec<String> = v.slos.iter().map(budget_left).collect();
    format!("SLO budget left {}", parts.join(" · "))
}

/// Every burn alert firing now: "checkout: burning its availability budget 31x too fast ...".
pub fn alerts(services: &[ServiceView]) -> Vec<(String, String)> {
    services
        .iter()
        .flat_map(|v| {
            v.slos.iter().filter_map(move |s| {
                s.alert
                    .as_ref()
                    .map(|a| (v.name.clone(), format!("{} ({} tier)", a.summary, a.tier)))
            })
        })
        .collect()
}

/// How far back the budget looks: "42 s", "12 min", "6 h".
fn held(secs: u64) -> String {
    match secs {
        0..120 => format!("{secs} s"),
        120..7200 => format!("{} min", secs / 60),
        _ => format!("{:.1} h", secs as f64 / 3600.0),
    }
}

/// The service page's table.
#[component]
pub fn SloTable(slos: Signal<Vec<SloStatus>>) -> impl IntoView {
    view! {
        {move || {
            let rows = slos.get();
            if rows.is_empty() {
                return view! { <p class="muted">"no objectives (not an Apiary service)"</p> }.into_any();
            }
            view! {
                <table class="table slos">
                    <thead>
                        <tr>
                            <th scope="col">"objective"</th>
                            <th scope="col" class="num">"burn 30 s"</th>
                            <th scope="col" class="num">"5 min"</th>
                            <th scope="col" class="num">"30 min"</th>
                            <th scope="col" class="num">"1 h"</th>
                            <th scope="col" class="num">"6 h"</th>
                            <th scope="col" class="num">"budget left"</th>
                            <th scope="col">"alert"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows
                            .into_iter()
                            .map(|s| {
                                let window = held(s.budget_window_s);
                                let burning = s.alert.is_some();
                                view! {
                                    <tr data-slo=s.slo.clone() class:burning=burning>
                                        <th scope="row">{format!("{}: {}", s.slo, objective(&s))}</th>
                                        <td class="num">{burn(s.burn_30s)}</td>
                                        <td class="num">{burn(s.burn_5m)}</td>
                                        <td class="num">{burn(s.burn_30m)}</td>
                                        <td class="num">{burn(s.burn_1h)}</td>
                                        <td class="num">{burn(s.burn_6h)}</td>
                                        <td class="num" title=format!("over the last {window}")>{budget_left(&s)}</td>
                                        <td class="slo-alert">
                                            {s.alert.map(|a| format!("{} ({} tier)", a.summary, a.tier)).unwrap_or_else(|| "none".into())}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }}
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::BurnAlert;

    fn status(slo: &str, remaining: Option<f64>, alert: bool) -> SloStatus {
        SloStatus {
            slo: slo.into(),
            objective: if slo == "latency" { 0.99 } else { 0.995 },
            threshold_ms: (slo == "latency").then_some(250),
            budget_remaining: remaining,
            alert: alert.then(|| BurnAlert {
                tier: "drill".into(),
                summary: "burning its availability budget 31x too fast over 5 min (and 30 s)"
                    .into(),
            }),
            ..SloStatus::default()
        }
    }

    #[test]
    fn objectives_budgets_and_alerts_read_plainly() {
        assert_eq!(
            objective(&status("availability", None, false)),
            "99.5% without a 5xx"
        );
        assert_eq!(
            objective(&status("latency", None, false)),
            "99.0% within 250 ms"
        );
        assert_eq!(burn(Some(0.0)), "0.0x");
        assert_eq!(burn(Some(31.4)), "31x");
        assert_eq!(burn(None), "–");
        let v = ServiceView {
            name: "checkout".into(),
            slos: vec![
                status("availability", Some(0.5), true),
                status("latency", Some(1.0), false),
            ],
            ..ServiceView::default()
        };
        assert_eq!(tile_line(&v), "SLO budget left 50.0% · 100.0%");
        let a = alerts(std::slice::from_ref(&v));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].0, "checkout");
        assert!(a[0].1.ends_with("(drill tier)"), "{}", a[0].1);
        assert_eq!(
            budget_left(&status("availability", Some(-50.0), false)),
            "-999.0%"
        );
        assert_eq!(tile_line(&ServiceView::default()), "");
    }
}
