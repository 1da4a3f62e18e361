//! One service: health and RED now, its instances (each judged on its own), RED charts per route over 15 minutes (fault intervals
//! shaded), the routes table, recent error and slow traces, its logs, and the services it
//! calls and is called by with their health.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{Api, ApiError, encode, query};
use crate::components::chart::PALETTE;
use crate::components::{EmptyState, ErrorBox, HealthBadge, Line, LineChart};
use crate::format;
use crate::live::use_live;
use crate::pages::logs::LogRows;
use crate::pages::traces::TraceTable;
use crate::types::{LogSearch, SeriesPoint, ServiceDetail, TraceSearch};

/// Routes drawn on the charts (the busiest); the rest are in the table.
const CHART_ROUTES: usize = 6;

/// The chart lines for one RED measure: the service total (thick) and its busiest routes.
pub fn red_lines(d: &ServiceDetail, measure: fn(&SeriesPoint) -> Option<f64>) -> Vec<Line> {
    let points = |series: &[SeriesPoint]| {
        series
            .iter()
            .filter_map(|p| measure(p).map(|v| (p.t, v)))
            .collect::<Vec<_>>()
    };
    let mut routes: Vec<&crate::types::RouteView> = d.routes.iter().collect();
    routes.sort_by(|a, b| b.rps.total_cmp(&a.rps).then_with(|| a.route.cmp(&b.route)));
    let mut lines = vec![Line {
        label: "all routes".into(),
        color: PALETTE[0],
        points: points(&d.series),
        emphasis: true,
    }];
    for (i, r) in routes.iter().take(CHART_ROUTES).enumerate() {
        if let Some(series) = d.route_series.get(&r.route) {
            lines.push(Line {
                label: r.route.clone(),
                color: PALETTE[(i + 1) % PALETTE.len()],
                points: points(series),
                emphasis: false,
            });
        }
    }
    lines
}

/// A trace search behind a number: `/traces` with these filters (the empty ones left out).
pub fn traces_of(filters: &[(&str, &str)]) -> String {
    format!("/traces{}", query(filters))
}

#[component]
pub fn ServicePage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.with(|p| p.get("name").unwrap_or_default()));
    let live = use_live();
    let api = Api::new();
    // The detail follows the live stream every other second; lists every ten.
    let tick2 = Memo::new(move |_| live.snapshot.with(|s| s.at / 2000));
    let tick10 = Memo::new(move |_| live.snapshot.with(|s| s.at / 10_000));
    let a = api.clone();
    let detail = Resource::new(
        move || (name.get(), tick2.get()),
        move |(n, _)| a.service(n),
    );
    let a = api.clone();
    let errors = Resource::new(
        move || (name.get(), tick10.get()),
        move |(n, _)| {
            a.traces(TraceSearch {
                service: Some(n),
                status: Some("error".to_owned()),
                limit: Some("8".to_owned()),
                ..TraceSearch::default()
            })
        },
    );
    // "Slow" is the service's own p95: the slowest twentieth of its recent traces.
    let p95 = Memo::new(move |_| {
        live.snapshot.with(|s| {
            s.service(&name.get())
                .and_then(|v| v.latency_ms.p95)
                .map_or(0.0, |p| p.floor())
        })
    });
    let a = api.clone();
    let slow = Resource::new(
        move || (name.get(), tick10.get(), p95.get_untracked() as u64),
        move |(n, _, min)| {
            let min = min.to_string();
            let a = a.clone();
            async move {
                let mut found = a
                    .traces(TraceSearch {
                        service: Some(n),
                        min_duration_ms: Some(min),
                        limit: Some("50".to_owned()),
                        ..TraceSearch::default()
                    })
                    .await?;
                found.sort_by(|x, y| y.duration_ms.total_cmp(&x.duration_ms));
                found.truncate(8);
                Ok::<_, ApiError>(found)
            }
        },
    );
    let a = api;
    let logs = Resource::new(
        move || (name.get(), tick10.get()),
        move |(n, _)| {
            a.logs(LogSearch {
                service: Some(n),
                limit: Some("25".to_owned()),
                ..LogSearch::default()
            })
        },
    );

    let summary = Memo::new(move |_| live.snapshot.with(|s| s.service(&name.get()).cloned()));
    let health =
        Signal::derive(move || summary.with(|s| s.as_ref().map(|s| s.health).unwrap_or_default()));
    let ok_detail = move || detail.get().and_then(Result::ok);
    let faults = Signal::derive(move || live.snapshot.with(|s| s.faults.clone()));
    let lines = move |m: fn(&SeriesPoint) -> Option<f64>| {
        Signal::derive(move || ok_detail().map(|d| red_lines(&d, m)).unwrap_or_default())
    };
    let neighbours = move |up: bool| {
        move || {
            ok_detail().map(|d| {
                let names = if up { d.upstream } else { d.downstream };
                if names.is_empty() {
                    return view! { <p class="muted">"none seen in the last minute"</p> }
                        .into_any();
                }
                view! {
                    <ul class="neighbours">
                        {names
                            .into_iter()
                            .map(|n| {
                                let h = Signal::derive({
                                    let n = n.clone();
                                    move || live.snapshot.with(|s| s.health_of(&n))
                                });
                                view! {
                                    <li>
                                        <a href=format!("/services/{}", encode(&n))>{n.clone()}</a>
                                        " "
                                        <HealthBadge health=h />
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            })
        }
    };

    view! {
        <Title text=move || format!("{} · Apiary", name.get()) />
        <div class="page-head">
            <h1 class="page-title">{move || name.get()}</h1>
            <HealthBadge health />
            <span class="reason">
                {move || summary.with(|s| s.as_ref().and_then(|s| s.reason.clone()).unwrap_or_default())}
            </span>
        </div>
        <section class="kpis" aria-label="RED now (last 5 s)">
            <crate::components::Kpi
                label="Requests/s"
                value=Signal::derive(move || summary.with(|s| format::rps(s.as_ref().map_or(0.0, |s| s.rps))))
            />
            <crate::components::Kpi
                label="Errors"
                value=Signal::derive(move || summary.with(|s| format::percent(s.as_ref().map_or(0.0, |s| s.error_rate))))
            />
            <crate::components::Kpi
                label="p50"
                value=Signal::derive(move || summary.with(|s| format::ms(s.as_ref().and_then(|s| s.latency_ms.p50))))
            />
            <crate::components::Kpi
                label="p95"
                value=Signal::derive(move || summary.with(|s| format::ms(s.as_ref().and_then(|s| s.latency_ms.p95))))
            />
            <crate::components::Kpi
                label="p99"
                value=Signal::derive(move || summary.with(|s| format::ms(s.as_ref().and_then(|s| s.latency_ms.p99))))
            />
        </section>
        <section class="panel" aria-labelledby="cause-h">
            <h2 id="cause-h">"Probable cause"</h2>
            <crate::components::cause::CausePanel service=Signal::derive(move || name.get()) />
        </section>
        <section class="panel" aria-labelledby="slo-h">
            <h2 id="slo-h">"Service level objectives"</h2>
            <crate::components::slo::SloTable slos=Signal::derive(move || {
                summary.with(|s| s.as_ref().map(|s| s.slos.clone()).unwrap_or_default())
            }) />
            <p class="muted">
                "Burn rate = bad share / (1 - objective): 1x spends the budget exactly over the SLO period. Alerts: drill tier 5 min and 30 s over 14.4x; fast tier 1 h and 5 min over 14.4x, or 6 h and 30 min over 6x (the Prometheus rules' windows, from the same apiary.toml)."
            </p>
        </section>
        <section class="panel" aria-labelledby="instances-h">
            <h2 id="instances-h">"Instances"</h2>
            {move || {
                let instances = summary.with(|s| s.as_ref().map(|s| s.instances.clone()).unwrap_or_default());
                if instances.is_empty() {
                    return view! { <p class="muted">"not probed yet"</p> }.into_any();
                }
                view! {
                    <table class="table instances">
                        <thead>
                            <tr>
                                <th scope="col">"instance"</th>
                                <th scope="col">"health"</th>
                                <th scope="col" class="n">"req/s"</th>
                                <th scope="col" class="n">"errors"</th>
                                <th scope="col" class="n">"p95"</th>
                                <th scope="col" class="n">"memory"</th>
                                <th scope="col" class="n">"restarts"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {instances
                                .into_iter()
                                .map(|i| {
                                    let health = Signal::derive(move || i.health);
                                    view! {
                                        <tr data-instance=i.id.clone()>
                                            <td class="mono" title=i.url.clone()>{i.id.clone()}</td>
                                            <td>
                                                <HealthBadge health />
                                                " "
                                                <span class="reason">{i.reason.clone().unwrap_or_default()}</span>
                                            </td>
                                            <td class="n num">{format::rps(i.rps)}</td>
                                            <td class="n num">{format::percent(i.error_rate)}</td>
                                            <td class="n num">{format::ms(i.latency_ms.p95)}</td>
                                            <td class="n num">
                                                {i.memory_mib.map_or_else(|| "–".to_owned(), |m| format!("{m:.1} MiB"))}
                                            </td>
                                            <td class="n num">{i.restarts}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || detail.get().and_then(Result::err).map(|e| view! { <ErrorBox message=e.to_string() /> })}
            <section class="charts" aria-label="RED per route, last 15 minutes">
                <LineChart
                    title="Requests/s"
                    lines=lines(|p| Some(p.rps))
                    faults
                    format=format::rps
                    exemplar=Signal::derive(move || traces_of(&[("service", &name.get())]))
                />
                <LineChart
                    title="Error %"
                    lines=lines(|p| Some(p.error_rate))
                    faults
                    format=format::percent
                    min_y_max=0.05
                    exemplar=Signal::derive(move || traces_of(&[("service", &name.get()), ("status", "error")]))
                />
                <LineChart
                    title="p95 latency"
                    lines=lines(|p| p.latency_ms.p95)
                    faults
                    format=|v| format::ms(Some(v))
                    min_y_max=10.0
                    exemplar=Signal::derive(move || traces_of(&[("service", &name.get())]))
                />
            </section>
            <div class="columns">
                <section class="panel" aria-labelledby="routes-h">
                    <h2 id="routes-h">"Routes"</h2>
                    {move || {
                        ok_detail()
                            .map(|d| {
                                if d.routes.is_empty() {
                                    return view! { <EmptyState title="No requests in the last 5 seconds." /> }
                                        .into_any();
                                }
                                let mut routes = d.routes;
                                routes.sort_by(|a, b| b.rps.total_cmp(&a.rps).then_with(|| a.route.cmp(&b.route)));
                                view! {
                                    <table class="table">
                                        <thead>
                                            <tr>
                                                <th scope="col">"route"</th>
                                                <th scope="col" class="n">"req/s"</th>
                                                <th scope="col" class="n">"errors"</th>
                                                <th scope="col" class="n">"p95"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {routes
                                                .into_iter()
                                                .map(|r| {
                                                    view! {
                                                        <tr>
                                                            <td class="mono">
                                                                <a
                                                                    href=traces_of(&[("service", &name.get_untracked()), ("route", &r.route)])
                                                                    title="example traces of this route"
                                                                >
                                                                    {r.route.clone()}
                                                                </a>
                                                            </td>
                                                            <td class="n num">{format::rps(r.rps)}</td>
                                                            <td class="n num">{format::percent(r.error_rate)}</td>
                                                            <td class="n num">{format::ms(r.latency_ms.p95)}</td>
                                                        </tr>
                                                    }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                }
                                    .into_any()
                            })
                    }}
                </section>
                <section class="panel" aria-labelledby="deps-h">
                    <h2 id="deps-h">"Called by"</h2>
                    {neighbours(true)}
                    <h2>"Calls"</h2>
                    {neighbours(false)}
                </section>
            </div>
            <div class="columns">
                <section class="panel" aria-labelledby="err-h">
                    <h2 id="err-h">"Recent error traces"</h2>
                    {move || {
                        errors
                            .get()
                            .map(|r| match r {
                                Ok(t) => view! { <TraceTable traces=t empty="No error traces held for this service." /> }.into_any(),
                                Err(e) => view! { <ErrorBox message=e.to_string() /> }.into_any(),
                            })
                    }}
                    <a class="more" href=move || format!("/traces{}", query(&[("service", &name.get()), ("status", "error")]))>
                        "All error traces →"
                    </a>
                </section>
                <section class="panel" aria-labelledby="slow-h">
                    <h2 id="slow-h">"Slow traces (≥ p95)"</h2>
                    {move || {
                        slow.get()
                            .map(|r| match r {
                                Ok(t) => view! { <TraceTable traces=t empty="No traces held for this service." /> }.into_any(),
                                Err(e) => view! { <ErrorBox message=e.to_string() /> }.into_any(),
                            })
                    }}
                </section>
            </div>
            <section class="panel" aria-labelledby="logs-h">
                <h2 id="logs-h">"Recent logs"</h2>
                {move || {
                    logs.get()
                        .map(|r| match r {
                            Ok(l) => view! { <LogRows logs=l /> }.into_any(),
                            Err(e) => view! { <ErrorBox message=e.to_string() /> }.into_any(),
                        })
                }}
                <a class="more" href=move || format!("/logs{}", query(&[("service", &name.get())]))>
                    "All logs of this service →"
                </a>
            </section>
        </Transition>
    }
    .into_any()
}
