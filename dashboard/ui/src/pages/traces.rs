//! Trace search: by service, status, minimum duration, or straight to a trace id. The filters
//! live in the URL, so a search can be linked to (the service page does).

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
    trace_id: String,
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
                    <option value="ok" selected=move || filters.with(|f| f.status == "ok")>"ok"</option>
                </select>
            </label>
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

/// A list of traces, each row a link to its waterfall.
#[component]
pub fn TraceTable(traces: Vec<TraceSummary>, #[prop(into)] empty: String) -> impl IntoView {
    if traces.is_empty() {
        return view! { <EmptyState title=empty /> }.into_any();
    }
    view! {
        <table class="table traces">
            <thead>
                <tr>
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
                        view! {
                            <tr class:error=t.error data-trace=t.trace_id.clone()>
                                <td class="num">{format::clock_ns(t.start_unix_nano)}</td>
                                <td>
                                    {if t.error {
                                        view! {
                                            <span class="badge h-down">
                                                <span class="icon" aria-hidden="true">"✕"</span>
                                                <span class="word">"error"</span>
                                            </span>
                                        }
                                            .into_any()
                                    } else {
                                        view! {
                                            <span class="badge h-up">
                                                <span class="icon" aria-hidden="true">"✓"</span>
                                                <span class="word">"ok"</span>
                                            </span>
                                        }
                                            .into_any()
                                    }}
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
}
