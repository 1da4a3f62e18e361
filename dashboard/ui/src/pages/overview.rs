//! Overview: the shop's KPIs across the top, then one tile per service (health as colour, icon
//! and word; requests/s, error %, p95, a sparkline of the last minute). Tiles keep their order
//! and their DOM nodes as values change, so nothing moves and keyboard focus stays put.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{Banners, EmptyState, HealthBadge, Kpi, Sparkline};
use crate::format;
use crate::live::use_live;
use crate::types::Business;

#[component]
pub fn Overview() -> impl IntoView {
    let live = use_live();
    let names = Memo::new(move |_| {
        live.snapshot.with(|s| {
            s.services
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        })
    });
    view! {
        <Title text="Overview · Apiary" />
        <h1 class="page-title">"Overview"</h1>
        <Banners />
        <crate::components::cause::CauseBanner />
        <KpiStrip />
        <Show
            when=move || !names.with(Vec::is_empty)
            fallback=|| {
                view! {
                    <EmptyState
                        title="No services are watched yet."
                        hint="Start the stack with ./scripts/up.sh (apiary up); the dashboard watches every service in apiary.toml."
                    />
                }
            }
        >
            <section class="tiles" aria-label="Services">
                <For
                    each=move || names.get()
                    key=|n| n.clone()
                    children=move |name| view! { <ServiceTile name /> }
                />
            </section>
        </Show>
    }
    .into_any()
}

/// Revenue per minute in the shop's currency (or the first of several).
pub fn revenue_text(b: &Business) -> String {
    match b.revenue_per_min.iter().next() {
        Some((currency, v)) => format::money(*v, currency),
        None => "–".into(),
    }
}

pub fn aov_text(b: &Business) -> String {
    match b.average_order_value.iter().next() {
        Some((currency, v)) => format::money(*v, currency),
        None => "–".into(),
    }
}

pub fn conversion_text(b: &Business) -> String {
    b.conversion
        .map(format::percent)
        .unwrap_or_else(|| "–".into())
}

#[component]
fn KpiStrip() -> impl IntoView {
    let live = use_live();
    let b = move |f: fn(&Business) -> String| {
        Signal::derive(move || live.snapshot.with(|s| f(&s.business)))
    };
    view! {
        <section class="kpis" aria-label="Shop KPIs (last minute)">
            <a class="kpi-link" href="/business">
                <Kpi id="kpi-orders" label="Orders/min" value=b(|b| format::per_min(b.orders_per_min)) />
            </a>
            <a class="kpi-link" href="/business">
                <Kpi id="kpi-revenue" label="Revenue/min" value=b(revenue_text) />
            </a>
            <a class="kpi-link" href="/business">
                <Kpi id="kpi-conversion" label="Conversion" value=b(conversion_text) hint="checkouts completed / started" />
            </a>
            <a class="kpi-link" href="/business">
                <Kpi id="kpi-aov" label="Avg order" value=b(aov_text) />
            </a>
        </section>
    }
    .into_any()
}

#[component]
fn ServiceTile(name: String) -> impl IntoView {
    let live = use_live();
    let key = name.clone();
    let svc = Memo::new(move |_| {
        live.snapshot
            .with(|s| s.service(&key).cloned().unwrap_or_default())
    });
    let health = Signal::derive(move || svc.with(|s| s.health));
    let href = format!("/services/{}", crate::api::encode(&name));
    view! {
        <a
            class=move || format!("tile h-{}", health.get().word())
            href=href
            data-service=name.clone()
            aria-label=move || {
                svc.with(|s| {
                    format!(
                        "{}: {}, {} requests per second, {} errors, p95 {}",
                        s.name,
                        s.health.word(),
                        format::rps(s.rps),
                        format::percent(s.error_rate),
                        format::ms(s.latency_ms.p95),
                    )
                })
            }
        >
            <div class="tile-head">
                <span class="tile-name">{name.clone()}</span>
                <HealthBadge health />
            </div>
            <dl class="tile-red">
                <div>
                    <dt>"req/s"</dt>
                    <dd class="num rps">{move || svc.with(|s| format::rps(s.rps))}</dd>
                </div>
                <div>
                    <dt>"errors"</dt>
                    <dd class="num errors">{move || svc.with(|s| format::percent(s.error_rate))}</dd>
                </div>
                <div>
                    <dt>"p95"</dt>
                    <dd class="num p95">{move || svc.with(|s| format::ms(s.latency_ms.p95))}</dd>
                </div>
            </dl>
            <Sparkline values=Signal::derive(move || svc.with(|s| s.recent_rps.clone())) />
            <p class="slo-line" class:burning=move || svc.with(|s| s.slos.iter().any(|x| x.alert.is_some()))>
                {move || svc.with(crate::components::slo::tile_line)}
            </p>
            <p class="reason">{move || svc.with(|s| s.reason.clone().unwrap_or_default())}</p>
        </a>
    }
    .into_any()
}
