//! Logs: filter by service, severity, text and trace id (in the URL); a live tail that follows
//! the event stream and a pause that only stops this page — the store and every other viewer
//! keep receiving. A log inside a request opens its trace.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::{Api, ApiError, encode};
use crate::components::{EmptyState, ErrorBox};
use crate::format;
use crate::live::use_live;
use crate::types::{LogRecord, LogSearch};

/// Rows in the live tail.
const TAIL: usize = 200;

const SEVERITIES: [&str; 6] = ["trace", "debug", "info", "warn", "error", "fatal"];

/// The severity word of an OTLP severity number (1-24).
pub fn severity_word(n: i32, text: &str) -> String {
    match n {
        1..=4 => "trace".into(),
        5..=8 => "debug".into(),
        9..=12 => "info".into(),
        13..=16 => "warn".into(),
        17..=20 => "error".into(),
        21..=24 => "fatal".into(),
        _ if !text.is_empty() => text.to_ascii_lowercase(),
        _ => "unset".into(),
    }
}

/// Keys for a keyed list: the same record keeps its key (and its DOM row) from one refresh to
/// the next; identical records are told apart by their occurrence.
pub fn row_keys(logs: &[LogRecord]) -> Vec<String> {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    logs.iter()
        .map(|l| {
            let base = format!(
                "{}-{}-{}-{}",
                l.time_unix_nano,
                l.span_id.as_deref().unwrap_or(""),
                l.service,
                l.body.len()
            );
            let n = seen.entry(base.clone()).or_default();
            *n += 1;
            format!("{base}-{n}")
        })
        .collect()
}

#[component]
pub fn LogRows(logs: Vec<LogRecord>) -> impl IntoView {
    if logs.is_empty() {
        return view! { <EmptyState title="No logs match." hint="No traffic yet — is the load generator running?" /> }
            .into_any();
    }
    let keyed: Vec<(String, LogRecord)> = row_keys(&logs).into_iter().zip(logs).collect();
    view! {
        <ol class="logs">
            <For
                each=move || keyed.clone()
                key=|(k, _)| k.clone()
                children=|(_, l)| view! { <LogRow l /> }
            />
        </ol>
    }
    .into_any()
}

#[component]
fn LogRow(l: LogRecord) -> impl IntoView {
    let sev = severity_word(l.severity_number, &l.severity_text);
    let inner = view! {
        <span class="num when">{format::clock_ns(l.time_unix_nano)}</span>
        <span class=format!("sev sev-{sev}")>{sev.clone()}</span>
        <span class="svc">{l.service.clone()}</span>
        <span class="body">{l.body.clone()}</span>
    };
    match l.trace_id.clone() {
        Some(t) => view! {
            <li class="log">
                <a class="log-link" href=format!("/traces/{}", encode(&t)) title="Open its trace">
                    {inner}
                    <span class="mono trace-ref">{format!("trace {}", format::short_id(&t))}</span>
                </a>
            </li>
        }
        .into_any(),
        None => view! { <li class="log">{inner}</li> }.into_any(),
    }
}

/// One place in the live tail: the same elements whatever record is shown (hidden while there
/// is none); a record with a trace links to it.
#[component]
fn TailRow(record: Memo<Option<LogRecord>>) -> impl IntoView {
    let field = move |f: fn(&LogRecord) -> String| {
        move || record.with(|r| r.as_ref().map(f).unwrap_or_default())
    };
    let sev = move || {
        record.with(|r| {
            r.as_ref()
                .map(|l| severity_word(l.severity_number, &l.severity_text))
                .unwrap_or_default()
        })
    };
    let trace = move || record.with(|r| r.as_ref().and_then(|l| l.trace_id.clone()));
    view! {
        <li class="log" hidden=move || record.with(Option::is_none)>
            <a
                class=move || if trace().is_some() { "log-link" } else { "log-row" }
                href=move || trace().map(|t| format!("/traces/{}", encode(&t)))
                title=move || trace().map(|_| "Open its trace")
            >
                <span class="num when">{field(|l| format::clock_ns(l.time_unix_nano))}</span>
                <span class=move || format!("sev sev-{}", sev())>{sev}</span>
                <span class="svc">{field(|l| l.service.clone())}</span>
                <span class="body">{field(|l| l.body.clone())}</span>
                <span class="mono trace-ref">
                    {move || trace().map(|t| format!("trace {}", format::short_id(&t))).unwrap_or_default()}
                </span>
            </a>
        </li>
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Filters {
    service: String,
    severity: String,
    q: String,
    trace_id: String,
}

#[component]
pub fn LogsPage() -> impl IntoView {
    let q = use_query_map();
    let filters = Memo::new(move |_| {
        q.with(|q| Filters {
            service: q.get("service").unwrap_or_default(),
            severity: q.get("severity").unwrap_or_default(),
            q: q.get("q").unwrap_or_default(),
            trace_id: q.get("trace_id").unwrap_or_default(),
        })
    });
    let live = use_live();
    let paused = RwSignal::new(false);
    let frozen = RwSignal::new(0u64);
    // Live: follow every snapshot; paused: keep the tick where it was.
    let tick = Memo::new(move |_| {
        if paused.get() {
            frozen.get_untracked()
        } else {
            live.snapshot.with(|s| s.at)
        }
    });
    let api = Api::new();
    // What the tail shows, newest first, and the filters it was read with. A refresh with the
    // same filters asks only for what arrived after the newest record held (`after=seq`) and
    // puts it on top; new filters read the tail afresh.
    let held = StoredValue::new((None::<Filters>, Vec::<LogRecord>::new()));
    let logs = Resource::new(
        move || (filters.get(), tick.get()),
        move |(f, _)| {
            let after = held.with_value(|(held_for, rows)| {
                (held_for.as_ref() == Some(&f))
                    .then(|| rows.first().map(|l| l.seq))
                    .flatten()
            });
            let after_text = after.map(|a| a.to_string()).unwrap_or_default();
            let fetch = api.logs(LogSearch {
                service: Some(f.service.clone()),
                severity: Some(f.severity.clone()),
                q: Some(f.q.clone()),
                trace_id: Some(f.trace_id.clone()),
                limit: Some(TAIL.to_string()),
                after: Some(after_text),
            });
            async move {
                let mut rows = fetch.await?;
                if after.is_some() {
                    // Fewer than a full tail arrived: the rest is what was already shown.
                    let keep = TAIL.saturating_sub(rows.len());
                    held.with_value(|(_, old)| rows.extend(old.iter().take(keep).cloned()));
                }
                held.set_value((Some(f), rows.clone()));
                Ok::<_, ApiError>(rows)
            }
        },
    );
    let services = Memo::new(move |_| {
        live.snapshot.with(|s| {
            s.services
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        })
    });
    let toggle = move |_| {
        if !paused.get_untracked() {
            frozen.set(live.snapshot.with_untracked(|s| s.at));
        }
        paused.update(|p| *p = !*p);
    };

    view! {
        <Title text="Logs · Apiary" />
        <h1 class="page-title">"Logs"</h1>
        <Form method="GET" action="/logs" attr:class="filters" attr:aria-label="Filter logs">
            <label>
                "Service "
                <select name="service">
                    <option value="" selected=move || filters.with(|f| f.service.is_empty())>"any"</option>
                    {move || {
                        services
                            .get()
                            .into_iter()
                            .map(|s| {
                                let selected = filters.with_untracked(|f| f.service == s);
                                view! { <option value=s.clone() selected=selected>{s.clone()}</option> }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
            <label>
                "Severity ≥ "
                <select name="severity">
                    <option value="" selected=move || filters.with(|f| f.severity.is_empty())>"any"</option>
                    {SEVERITIES
                        .iter()
                        .map(|s| {
                            view! {
                                <option value=*s selected=move || filters.with(|f| f.severity == *s)>
                                    {*s}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Text "
                <input id="search" name="q" type="search" maxlength="200" prop:value=move || filters.with(|f| f.q.clone()) />
            </label>
            <label>
                "Trace id "
                <input name="trace_id" type="search" size="34" prop:value=move || filters.with(|f| f.trace_id.clone()) />
            </label>
            <button type="submit">"Filter"</button>
        </Form>
        <div class="tail-bar">
            <button id="tail-toggle" aria-pressed=move || paused.get().to_string() on:click=toggle>
                {move || if paused.get() { "▶ Resume live tail" } else { "❚❚ Pause" }}
            </button>
            <span class="muted" role="status">
                {move || {
                    if paused.get() {
                        "Paused — this view only; the store and other viewers keep receiving."
                    } else {
                        "Live: newest first, updated every second."
                    }
                }}
            </span>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || logs.get().and_then(Result::err).map(|e| view! { <ErrorBox message=e.to_string() /> })}
            {move || {
                logs.get()
                    .is_some_and(|r| r.as_ref().is_ok_and(Vec::is_empty))
                    .then(|| view! { <EmptyState title="No logs match." hint="No traffic yet — is the load generator running? (or loosen the filters)" /> })
            }}
            // A fixed set of rows for the page's lifetime, each showing the record at its
            // place in the tail: as the tail moves, text changes and no row is inserted,
            // moved or removed. (A keyed list re-inserted every row on each refresh: Leptos'
            // keyed diff moves a whole group of shifted rows when new ones are prepended,
            // which kept the main thread busy for ~70 ms a second with 200 rows.)
            <ol class="logs" id="log-list">
                {(0..TAIL)
                    .map(|i| {
                        let record = Memo::new(move |_| {
                            logs.with(|r| {
                                r.as_ref()
                                    .and_then(|r| r.as_ref().ok())
                                    .and_then(|l| l.get(i).cloned())
                            })
                        });
                        view! { <TailRow record /> }
                    })
                    .collect_view()}
            </ol>
        </Transition>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_by_number() {
        assert_eq!(severity_word(9, ""), "info");
        assert_eq!(severity_word(17, "ERROR"), "error");
        assert_eq!(severity_word(0, "WARN"), "warn");
        assert_eq!(severity_word(0, ""), "unset");
    }

    #[test]
    fn row_keys_are_stable_and_unique() {
        let l = LogRecord {
            time_unix_nano: 5,
            body: "x".into(),
            ..LogRecord::default()
        };
        let keys = row_keys(&[l.clone(), l.clone()]);
        assert_ne!(keys[0], keys[1]);
        assert_eq!(row_keys(&[l])[0], keys[0]);
    }
}
