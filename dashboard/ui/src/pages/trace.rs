//! One trace: the waterfall (spans in tree order, bars on the trace's time axis, the critical
//! path highlighted), each span's attributes, events and logs one Enter away, and the trace's
//! logs underneath.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{Api, query};
use crate::components::{EmptyState, ErrorBox};
use crate::format;
use crate::pages::logs::LogRows;
use crate::types::{Attributes, LogRecord, Span, TraceDetail};
use crate::waterfall;

fn attr_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[component]
fn AttrTable(attrs: Attributes) -> impl IntoView {
    if attrs.is_empty() {
        return view! { <p class="muted">"no attributes"</p> }.into_any();
    }
    view! {
        <table class="attrs">
            <tbody>
                {attrs
                    .into_iter()
                    .map(|(k, v)| {
                        view! {
                            <tr>
                                <th scope="row" class="mono">{k}</th>
                                <td class="mono">{attr_text(&v)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The percentile badge's class: amber from p90, red from p99.
fn percentile_class(rank: f64) -> &'static str {
    if rank >= 99.0 {
        "wf-pct pct-high"
    } else if rank >= 90.0 {
        "wf-pct pct-mid"
    } else {
        "wf-pct"
    }
}

/// What the percentile badge means, in words.
pub fn percentile_text(p: &crate::types::SpanPercentile, span: &Span) -> String {
    format!(
        "slower than {:.0}% of the {} {} {} spans of the last {} min (p50 {}, p99 {})",
        p.rank,
        p.samples,
        span.service,
        span.name,
        p.window_s / 60,
        format::ms(Some(p.p50_ms)),
        format::ms(Some(p.p99_ms)),
    )
}

/// A span's details: status, attributes, events, and the logs written inside it.
#[component]
fn SpanDetail(span: Span, logs: Vec<LogRecord>) -> impl IntoView {
    let word = match (span.error, span.rejected) {
        (false, _) => "ok",
        (true, true) => "answered 4xx (an expected answer, not a failure)",
        (true, false) => "error",
    };
    let status = match (&span.status_message, span.error) {
        (Some(m), true) => format!("{word}: {m}"),
        _ => word.to_owned(),
    };
    let failed = span.failed();
    view! {
        <div class="span-detail">
            <p>
                <strong>{span.service.clone()}</strong>
                " · "
                <span class="mono">{span.name.clone()}</span>
                " · "
                {span.kind.word()}
                " · "
                {format::ms(Some(span.duration_ms))}
                " · "
                <span class:err=failed>{status}</span>
                " · span "
                <span class="mono">{span.span_id.clone()}</span>
            </p>
            {span
                .percentile
                .as_ref()
                .map(|p| view! { <p class="pct-line">{percentile_text(p, &span)}</p> })}
            <h3>"Attributes"</h3>
            <AttrTable attrs=span.attributes.clone() />
            <h3>"Events"</h3>
            {if span.events.is_empty() {
                view! { <p class="muted">"no events"</p> }.into_any()
            } else {
                view! {
                    <ul class="events">
                        {span
                            .events
                            .iter()
                            .map(|e| {
                                view! {
                                    <li>
                                        <span class="num">{format::clock_ns(e.time_unix_nano)}</span>
                                        " "
                                        <strong>{e.name.clone()}</strong>
                                        <AttrTable attrs=e.attributes.clone() />
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
            {(!span.links.is_empty()).then(|| {
                view! {
                    <h3>"Links"</h3>
                    <ul class="span-links">
                        {span
                            .links
                            .iter()
                            .map(|l| {
                                view! {
                                    <li>
                                        "→ "
                                        <a class="mono" href=format!("/traces/{}", crate::api::encode(&l.trace_id))>
                                            {format!("trace {}", l.trace_id)}
                                        </a>
                                        " span "
                                        <span class="mono">{l.span_id.clone()}</span>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
            })}
            <h3>"Logs in this span"</h3>
            {if logs.is_empty() {
                view! { <p class="muted">"no logs"</p> }.into_any()
            } else {
                view! { <LogRows logs /> }.into_any()
            }}
        </div>
    }
    .into_any()
}

#[component]
pub fn TracePage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let api = Api::new();
    let reload = RwSignal::new(0u32);
    let trace = Resource::new(
        move || (id.get(), reload.get()),
        move |(id, _)| api.trace(id),
    );
    let open = RwSignal::new(None::<String>);

    view! {
        <Title text=move || format!("Trace {} · Apiary", format::short_id(&id.get())) />
        <div class="page-head">
            <h1 class="page-title">"Trace"</h1>
            <span class="mono">{move || id.get()}</span>
            <button on:click=move |_| reload.update(|n| *n += 1)>"Reload"</button>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading the trace…"</p> }>
            {move || {
                trace
                    .get()
                    .map(|r| match r {
                        Err(e) => view! { <ErrorBox message=e.to_string() /> }.into_any(),
                        Ok(t) => view! { <Waterfall trace=t open /> }.into_any(),
                    })
            }}
        </Transition>
    }
    .into_any()
}

#[component]
fn Waterfall(trace: TraceDetail, open: RwSignal<Option<String>>) -> impl IntoView {
    let rows = waterfall::rows(&trace.spans);
    let s = &trace.summary;
    let logs_href = format!("/logs{}", query(&[("trace_id", &s.trace_id)]));
    let log_count = trace.logs.len();
    let critical_ms: f64 = rows
        .iter()
        .filter(|r| r.critical)
        .map(|r| trace.spans[r.index].duration_ms)
        .fold(0.0, f64::max);
    let head = view! {
        <section class="trace-summary" aria-label="Summary">
            <span class=if s.error { "badge h-down" } else { "badge h-up" }>
                <span class="icon" aria-hidden="true">{if s.error { "✕" } else { "✓" }}</span>
                <span class="word">{if s.error { "error" } else { "ok" }}</span>
            </span>
            <span>
                <strong>{s.root_service.clone()}</strong>
                " "
                <span class="mono">{s.root_name.clone()}</span>
            </span>
            <span class="num">{format::ms(Some(s.duration_ms))}</span>
            <span>{format!("{} spans", s.span_count)}</span>
            <span>{s.services.join(" · ")}</span>
            <span>"started " {format::clock_ns(s.start_unix_nano)}</span>
            <a id="trace-logs-link" class="button" href=logs_href>
                {format!("Logs of this trace ({log_count})")}
            </a>
        </section>
        <form class="filters compare-with" method="GET" action="/traces/compare" aria-label="Compare with another trace">
            <input type="hidden" name="a" value=s.trace_id.clone() />
            <label>
                "Compare with trace "
                <input name="b" type="search" placeholder="32 hex characters" size="34" required=true />
            </label>
            <button type="submit">"Compare"</button>
        </form>
        <p class="legend-line">
            <span class="swatch critical-swatch"></span>
            " critical path (what the end of the trace waited for, "
            {format::ms(Some(critical_ms))}
            ") · "
            <span class="swatch error-swatch"></span>
            " error (a failure; a 4xx answer is amber) · pNN: the span's percentile among the same operation's spans of the last 5 minutes · select a span (Enter) for its attributes, events and logs"
        </p>
    };
    if trace.spans.is_empty() {
        return view! {
            {head}
            <EmptyState title="This trace has no spans held." />
        }
        .into_any();
    }
    let spans = StoredValue::new(trace.spans.clone());
    let logs = StoredValue::new(trace.logs.clone());
    let body = rows
        .into_iter()
        .map(|row| {
            let span = &trace.spans[row.index];
            let sid = span.span_id.clone();
            let sid_click = sid.clone();
            let sid_open = sid.clone();
            let sid_detail = sid.clone();
            let n_logs = trace
                .logs
                .iter()
                .filter(|l| l.span_id.as_deref() == Some(sid.as_str()))
                .count();
            let label = format!(
                "{} {} {}{}",
                span.service,
                span.name,
                format::ms(Some(span.duration_ms)),
                if span.failed() {
                    ", error"
                } else if span.rejected {
                    ", answered 4xx"
                } else {
                    ""
                }
            );
            let (pct_class, pct_title, pct_text) = match &span.percentile {
                Some(p) => (percentile_class(p.rank), percentile_text(p, span), p.label()),
                None => (
                    "wf-pct",
                    "too few spans of this operation held to rank it".to_owned(),
                    "–".to_owned(),
                ),
            };
            view! {
                <li
                    class="wf-row"
                    class:error=span.failed()
                    class:rejected=span.error && span.rejected
                    class:critical=row.critical
                    data-span=sid.clone()
                >
                    <button
                        class="wf-button"
                        aria-expanded=move || (open.get().as_deref() == Some(sid_open.as_str())).to_string()
                        aria-label=label
                        on:click=move |_| {
                            open.update(|o| {
                                *o = if o.as_deref() == Some(sid_click.as_str()) { None } else { Some(sid_click.clone()) };
                            })
                        }
                    >
                        <span class="wf-name" style:padding-left=format!("{}rem", row.depth as f64 * 0.9)>
                            <span class=format!("svc svc-{}", span.service)>{span.service.clone()}</span>
                            " "
                            {span.name.clone()}
                            {(n_logs > 0).then(|| view! { <span class="log-count" title="logs in this span">{format!(" ✉{n_logs}")}</span> })}
                        </span>
                        <span class="wf-track">
                            <span
                                class="wf-bar"
                                style:left=format!("{:.2}%", row.left)
                                style:width=format!("{:.2}%", row.width)
                            ></span>
                        </span>
                        <span class="wf-dur num">{format::ms(Some(span.duration_ms))}</span>
                        <span class=pct_class title=pct_title>{pct_text}</span>
                    </button>
                    {move || {
                        (open.get().as_deref() == Some(sid_detail.as_str()))
                            .then(|| {
                                let span = spans
                                    .with_value(|s| s.iter().find(|s| s.span_id == sid_detail).cloned())
                                    .unwrap_or_default();
                                let span_logs = logs.with_value(|l| {
                                    l.iter()
                                        .filter(|l| l.span_id.as_deref() == Some(sid_detail.as_str()))
                                        .cloned()
                                        .collect::<Vec<_>>()
                                });
                                view! { <SpanDetail span logs=span_logs /> }
                            })
                    }}
                </li>
            }
        })
        .collect_view();
    let linked_from = (!trace.linked_from.is_empty()).then(|| {
        view! {
            <section class="panel" aria-labelledby="linked-h">
                <h2 id="linked-h">
                    {format!("Linked from ({}): asynchronous work this trace started", trace.linked_from.len())}
                </h2>
                <ul class="span-links">
                    {trace
                        .linked_from
                        .iter()
                        .map(|l| {
                            view! {
                                <li>
                                    <strong>{l.service.clone()}</strong>
                                    " "
                                    <span class="mono">{l.name.clone()}</span>
                                    " ← "
                                    <a class="mono" href=format!("/traces/{}", crate::api::encode(&l.trace_id))>
                                        {format!("trace {}", l.trace_id)}
                                    </a>
                                    " (links to span "
                                    <span class="mono">{l.to_span_id.clone()}</span>
                                    ")"
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
        }
    });
    view! {
        {head}
        <ol class="waterfall" aria-label="Spans">
            {body}
        </ol>
        {linked_from}
        <section class="panel" aria-labelledby="tlogs-h">
            <h2 id="tlogs-h">{format!("Logs of this trace ({log_count})")}</h2>
            <LogRows logs=trace.logs.clone() />
        </section>
    }
    .into_any()
}
