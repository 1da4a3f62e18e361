//! Trace search: by service, status, minimum duration, route and time window, or straight to
//! a trace id. The filters live in the URL, so a search can be linked to (the service page's
//! chart points and the business page's tiles do: "show me a request behind this number").
//! Two ticked traces open side by side (`/traces/compare`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, Redirect};
use leptos_router::hooks::use_query_map;

use crate::api::{Api, encode};
use crate::components::{EmptyState, ErrorBox};
use crate::format;
use crate::live::use_live;
use crate::types::{TraceSearch, TraceSummary};

#[derive(Debug, Clone, PartialEq, Default)]
struct Filters {
    service: String,
    status: String,
    min_ms: String,
    route: String,
    from_ms: String,
    to_ms: String,
    trace_id: String,
}

/// The time window a chart point opened the search with: hidden fields that keep it, and a
/// line saying which second it is with a link that clears it.
fn window_fields(from: String, to: String) -> Option<AnyView> {
    if from.is_empty() && to.is_empty() {
        return None;
    }
    let text = window_text(&from, &to);
    Some(
        view! {
            <input type="hidden" name="from_ms" value=from />
            <input type="hidden" name="to_ms" value=to />
            <span class="chip" id="trace-window">
                {text}
                " "
                <a href="/traces" title="search every held trace">"✕ any time"</a>
            </span>
        }
        .into_any(),
    )
}

/// "between 12:01:03 and 12:01:04": a window's ends as clock times (or as given when not
/// numbers).
pub fn window_text(from: &str, to: &str) -> String {
    let clock = |raw: &str| match raw.parse::<u64>() {
        Ok(ms) => format::clock_ms(ms),
        Err(_) => raw.to_owned(),
    };
    match (from.is_empty(), to.is_empty()) {
        (false, false) => format!("between {} and {}", clock(from), clock(to)),
        (false, true) => format!("running at or after {}", clock(from)),
        _ => format!("started by {}", clock(to)),
    }
}

/// A trace id as the API takes it: 32 hex characters (lower-cased).
pub fn valid_trace_id(raw: &str) -> Option<String> {
    let t = raw.trim();
    (t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())).then(|| t.to_ascii_lowercase())
}

#[component]
pub fn TracesPage() -> impl IntoView {
    let q = use_query_map();
    let filters = Memo::new(move |_| {
        q.with(|q| Filters {
            service: q.get("service").unwrap_or_default(),
            status: q.get("status").unwrap_or_default(),
            min_ms: q.get("min_duration_ms").unwrap_or_default(),
            route: q.get("route").unwrap_or_default(),
            from_ms: q.get("from_ms").unwrap_or_default(),
            to_ms: q.get("to_ms").unwrap_or_default(),
            trace_id: q.get("trace_id").unwrap_or_default(),
        })
    });
    let refresh = RwSignal::new(0u32);
    let api = Api::new();
    let results = Resource::new(
        move || (filters.get(), refresh.get()),
        move |(f, _)| {
            api.traces(TraceSearch {
                service: Some(f.service),
                status: Some(f.status),
                min_duration_ms: Some(f.min_ms),
                route: Some(f.route),
                from_ms: Some(f.from_ms),
                to_ms: Some(f.to_ms),
                limit: Some("50".to_owned()),
            })
        },
    );
    let live = use_live();
    let services = Memo::new(move |_| {
        live.snapshot.with(|s| {
            s.services
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        })
    });
    let jump = move || filters.with(|f| valid_trace_id(&f.trace_id));
    let bad_id = move || {
        filters.with(|f| !f.trace_id.trim().is_empty() && valid_trace_id(&f.trace_id).is_none())
    };

    view! {
        <Title text="Traces · Apiary" />
        <h1 class="page-title">"Traces"</h1>
        {move || jump().map(|id| view! { <Redirect path=format!("/traces/{id}") /> })}
        <Form method="GET" action="/traces" attr:class="filters" attr:aria-label="Search traces">
            <label>
                "Service "
                <select name="service">
                    <option value="" selected=move || filters.with(|f| f.service.is_empty())>
                        "any"
                    </option>
                    {move || {
                        services
                            .get()
                            .into_iter()
                            .map(|s| {
                                let selected = filters.with_untracked(|f| f.service == s);
                                view! {
                                    <option value=s.clone() selected=selected>
                                        {s.clone()}
                                    </option>
                                }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
            <label>
                "Status "
                <select name="status">
                    <option value="" selected=move || filters.with(|f| f.status.is_empty())>"any"</option>
                    <option value="error" selected=move || filters.with(|f| f.status == "error")>"error"</option>
                    <option value="rejected" selected=move || filters.with(|f| f.status == "rejected")>
                        "answered 4xx"
                    </option>
                    <option value="ok" selected=move || filters.with(|f| f.status == "ok")>"ok"</option>
                </select>
            </label>
            <label>
                "Route "
                <input
                    name="route"
                    type="text"
                    placeholder="/products/{id}"
                    size="14"
                    maxlength="200"
                    prop:value=move || filters.with(|f| f.route.clone())
                />
            </label>
            // A chart point's second travels with the search until it is cleared.
            {move || filters.with(|f| window_fields(f.from_ms.clone(), f.to_ms.clone()))}
            <label>
                "Min duration (ms) "
                <input
                    name="min_duration_ms"
                    type="number"
                    min="0"
                    step="any"
                    size="6"
                    prop:value=move || filters.with(|f| f.min_ms.clone())
                />
            </label>
            <label>
                "Trace id "
                <input
                    id="search"
                    name="trace_id"
                    type="search"
                    placeholder="32 hex characters"
                    size="34"
                    prop:value=move || filters.with(|f| f.trace_id.clone())
                />
            </label>
            <button type="submit">"Search"</button>
            <button type="button" on:click=move |_| refresh.update(|n| *n += 1)>
                "Refresh"
            </button>
        </Form>
        {move || bad_id().then(|| view! { <ErrorBox message="A trace id is 32 hex characters." /> })}
        <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || {
                results
                    .get()
                    .map(|r| match r {
                        Ok(t) => {
                            view! {
                                <TraceTable
                                    traces=t
                                    empty="No traces match — is the load generator running? (or widen the search)"
                                    compare=true
                                />
                            }
                                .into_any()
                        }
                        Err(e) => view! { <ErrorBox message=e.to_string() /> }.into_any(),
                    })
            }}
        </Transition>
    }
    .into_any()
}

/// A list of traces, each row a link to its waterfall; with `compare`, each row can be
/// ticked and two ticked traces open side by side.
#[component]
pub fn TraceTable(
    traces: Vec<TraceSummary>,
    #[prop(into)] empty: String,
    #[prop(optional)] compare: bool,
) -> impl IntoView {
    if traces.is_empty() {
        return view! { <EmptyState title=empty /> }.into_any();
    }
    let table = view! {
        <table class="table traces">
            <thead>
                <tr>
                    {compare.then(|| view! { <th scope="col" class="cmp-pick">"pick"</th> })}
                    <th scope="col">"started"</th>
                    <th scope="col">"status"</th>
                    <th scope="col">"root"</th>
                    <th scope="col" class="n">"duration"</th>
                    <th scope="col" class="n">"spans"</th>
                    <th scope="col">"trace"</th>
                </tr>
            </thead>
            <tbody>
                {traces
                    .into_iter()
                    .map(|t| {
                        let href = format!("/traces/{}", encode(&t.trace_id));
                        let (class, icon, word) = if t.error {
                            ("badge h-down", "✕", "error")
                        } else if t.rejected {
                            ("badge h-degraded", "!", "4xx")
                        } else {
                            ("badge h-up", "✓", "ok")
                        };
                        let pick_label = format!("compare trace {}", format::short_id(&t.trace_id));
                        view! {
                            <tr class:error=t.error data-trace=t.trace_id.clone()>
                                {compare
                                    .then(|| {
                                        view! {
                                            <td class="cmp-pick">
                                                <input
                                                    type="checkbox"
                                                    name="t"
                                                    value=t.trace_id.clone()
                                                    aria-label=pick_label
                                                />
                                            </td>
                                        }
                                    })}
                                <td class="num">{format::clock_ns(t.start_unix_nano)}</td>
                                <td>
                                    <span class=class>
                                        <span class="icon" aria-hidden="true">{icon}</span>
                                        <span class="word">{word}</span>
                                    </span>
                                </td>
                                <td>
                                    <a class="trace-link" href=href.clone()>
                                        <span class="svc">{t.root_service.clone()}</span>
                                        " "
                                        {t.root_name.clone()}
                                    </a>
                                </td>
                                <td class="n num">{format::ms(Some(t.duration_ms))}</td>
                                <td class="n num">{t.span_count}</td>
                                <td class="mono" title=t.trace_id.clone()>
                                    {format::short_id(&t.trace_id).to_owned()}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    };
    if !compare {
        return table.into_any();
    }
    view! {
        <form id="compare-form" method="GET" action="/traces/compare" aria-label="Compare two traces">
            {table}
            <p>
                <button type="submit">"Compare the two ticked traces"</button>
                " "
                <span class="muted">"e.g. a fast and a slow checkout, or one from before a drill and one from during it"</span>
            </p>
        </form>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_32_hex_characters() {
        assert_eq!(
            valid_trace_id(" 0123456789ABCDEF0123456789abcdef "),
            Some("0123456789abcdef0123456789abcdef".into())
        );
        assert_eq!(valid_trace_id("xyz"), None);
        assert_eq!(valid_trace_id(&"g".repeat(32)), None);
    }

    #[test]
    fn windows_read_as_clock_times() {
        assert!(window_text("1000", "2000").starts_with("between "));
        assert!(window_text("1000", "").starts_with("running at or after "));
        assert_eq!(window_text("", "soon"), "started by soon");
    }
}
