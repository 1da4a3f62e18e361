//! Health badges, banners, empty states and KPI figures.

use leptos::prelude::*;

use crate::format;
use crate::live::use_live;
use crate::types::Health;

/// Health as colour, icon and word together (never colour alone).
#[component]
pub fn HealthBadge(#[prop(into)] health: Signal<Health>) -> impl IntoView {
    view! {
        <span class=move || format!("badge h-{}", health.get().word())>
            <span class="icon" aria-hidden="true">{move || health.get().icon()}</span>
            <span class="word">{move || health.get().word()}</span>
        </span>
    }
    .into_any()
}

/// One figure with its label; the value's box has a fixed width class so updates never move
/// what is around it.
#[component]
pub fn Kpi(
    #[prop(into)] label: String,
    #[prop(into)] value: Signal<String>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional, into)] id: Option<String>,
    /// A trace search showing requests behind the number.
    #[prop(optional, into)]
    traces: Option<String>,
) -> impl IntoView {
    view! {
        <div class="kpi" id=id>
            <span class="kpi-label">{label}</span>
            <span class="kpi-value num">{move || value.get()}</span>
            {hint.map(|h| view! { <span class="kpi-hint">{h}</span> })}
            {traces.map(|href| view! { <a class="kpi-traces" href=href>"example traces →"</a> })}
        </div>
    }
    .into_any()
}

/// What an empty list says, with what to do about it.
#[component]
pub fn EmptyState(
    #[prop(into)] title: String,
    #[prop(optional, into)] hint: Option<String>,
) -> impl IntoView {
    view! {
        <div class="empty" role="status">
            <p class="empty-title">{title}</p>
            {hint.map(|h| view! { <p class="empty-hint">{h}</p> })}
        </div>
    }
    .into_any()
}

#[component]
pub fn ErrorBox(#[prop(into)] message: String) -> impl IntoView {
    view! { <div class="error-box" role="alert">{message}</div> }
}

/// Active faults and drills, the dashboard's own warning, and "no traffic yet". Nothing at all
/// when there is nothing to say.
#[component]
pub fn Banners() -> impl IntoView {
    let live = use_live();
    let faults = Memo::new(move |_| {
        live.snapshot.with(|s| {
            s.active_faults()
                .map(|f| {
                    let what = if f.kind == "drill" { "Drill" } else { "Fault" };
                    let on = f
                        .service
                        .as_deref()
                        .map(|s| format!(" on {s}"))
                        .unwrap_or_default();
                    format!(
                        "{what} active: {}{on} since {}",
                        f.name,
                        format::clock_ms(f.start)
                    )
                })
                .collect::<Vec<_>>()
        })
    });
    let burning = Memo::new(move |_| live.snapshot.with(|s| super::slo::alerts(&s.services)));
    let warning = Memo::new(move |_| live.snapshot.with(|s| s.warning.clone()));
    let quiet = Memo::new(move |_| {
        live.snapshot
            .with(|s| !s.services.is_empty() && !s.has_traffic())
    });
    view! {
        <div class="banners">
            {move || {
                faults
                    .get()
                    .into_iter()
                    .map(|text| {
                        view! {
                            <p class="banner fault" role="alert">
                                <span aria-hidden="true">"⚠ "</span>
                                {text}
                            </p>
                        }
                    })
                    .collect_view()
            }}
            {move || {
                burning
                    .get()
                    .into_iter()
                    .map(|(service, text)| {
                        view! {
                            <p class="banner burn" role="alert" data-slo-alert=service.clone()>
                                <span aria-hidden="true">"🔥 "</span>
                                <a href=format!("/services/{}", crate::api::encode(&service))>{service.clone()}</a>
                                {format!(" is {text}")}
                            </p>
                        }
                    })
                    .collect_view()
            }}
            {move || {
                warning
                    .get()
                    .map(|w| view! { <p class="banner warning" role="alert">{w}</p> })
            }}
            {move || {
                quiet
                    .get()
                    .then(|| {
                        view! {
                            <p class="banner quiet" role="status">
                                "No traffic yet — is the load generator running?"
                            </p>
                        }
                    })
            }}
        </div>
    }
    .into_any()
}

/// Whether the numbers can be trusted, in a line: how late spans arrive, what was refused, how
/// far back traces go, which scrapes fail. `(short text, something wrong, the details)`.
pub fn trust(s: &crate::types::Snapshot) -> (String, bool, String) {
    let st = &s.store;
    let refused = st.spans_refused + st.logs_refused + st.points_refused;
    let held_min = st
        .oldest_span_unix_ms
        .map(|oldest| s.at.saturating_sub(oldest) / 60_000);
    let lag = st.ingest_lag_ms_mean.map_or_else(
        || "no spans lately".to_owned(),
        |l| format!("lag {}", format::ms(Some(l as f64))),
    );
    let short = format!(
        "{lag} · {} refused · {}",
        format::thousands(refused),
        held_min.map_or_else(
            || "no traces held".to_owned(),
            |m| format!("{m} min of traces")
        )
    );
    let slow = st.ingest_lag_ms_max.is_some_and(|m| m > 10_000);
    let wrong = slow || refused > 0 || !s.scrape_failures.is_empty();
    let detail = format!(
        "Spans arrive {} after they end (mean; largest {} over the last 10 s). Refused: {} spans, {} logs, {} metric points; evicted to stay in bounds: {} spans. Traces held back to {}. Scrapes failing: {}.",
        st.ingest_lag_ms_mean
            .map_or_else(|| "–".to_owned(), |l| format::ms(Some(l as f64))),
        st.ingest_lag_ms_max
            .map_or_else(|| "–".to_owned(), |l| format::ms(Some(l as f64))),
        format::thousands(st.spans_refused),
        format::thousands(st.logs_refused),
        format::thousands(st.points_refused),
        format::thousands(st.spans_evicted),
        st.oldest_span_unix_ms
            .map_or_else(|| "–".to_owned(), format::clock_ms),
        if s.scrape_failures.is_empty() {
            "none".to_owned()
        } else {
            s.scrape_failures.join(", ")
        }
    );
    (short, wrong, detail)
}

#[cfg(test)]
mod trust_tests {
    use super::*;

    #[test]
    fn the_trust_line_says_how_late_what_was_lost_and_how_far_back() {
        let mut s = crate::types::Snapshot {
            at: 10 * 60_000,
            ..Default::default()
        };
        s.store.ingest_lag_ms_mean = Some(180);
        s.store.ingest_lag_ms_max = Some(900);
        s.store.oldest_span_unix_ms = Some(60_000);
        let (short, wrong, detail) = trust(&s);
        assert_eq!(short, "lag 180 ms · 0 refused · 9 min of traces");
        assert!(!wrong);
        assert!(detail.contains("Scrapes failing: none"), "{detail}");
        s.scrape_failures.push("payment".into());
        s.store.spans_refused = 3;
        let (short, wrong, detail) = trust(&s);
        assert!(wrong);
        assert!(short.contains("3 refused"), "{short}");
        assert!(detail.contains("Scrapes failing: payment"), "{detail}");
    }
}
