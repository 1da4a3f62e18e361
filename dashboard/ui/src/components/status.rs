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
) -> impl IntoView {
    view! {
        <div class="kpi" id=id>
            <span class="kpi-label">{label}</span>
            <span class="kpi-value num">{move || value.get()}</span>
            {hint.map(|h| view! { <span class="kpi-hint">{h}</span> })}
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
