//! The probable cause as the pages show it: a banner on the overview naming the top cause, and
//! on a service page every cause that names or explains the service, with its evidence and the
//! span attributes over-represented in its bad spans.

use leptos::prelude::*;

use crate::format;
use crate::live::use_live;
use crate::types::{Cause, Diagnosis};

/// "Probable cause: payment — payment: error rate 100% >= 5% (explains checkout, gateway)".
pub fn headline(c: &Cause) -> String {
    let others: Vec<&str> = c
        .explains
        .iter()
        .map(String::as_str)
        .filter(|e| Some(*e) != c.service.as_deref())
        .collect();
    if others.is_empty() {
        c.summary.clone()
    } else {
        format!("{} (explains {})", c.summary, others.join(", "))
    }
}

/// The causes of `d` that name `service` or explain its symptoms.
pub fn for_service<'a>(d: &'a Diagnosis, service: &'a str) -> impl Iterator<Item = &'a Cause> {
    d.causes.iter().filter(move |c| {
        c.service.as_deref() == Some(service)
            || c.peer.as_deref() == Some(service)
            || c.explains.iter().any(|e| e == service)
    })
}

/// The overview's banner: the top cause, linked to its service.
#[component]
pub fn CauseBanner() -> impl IntoView {
    let live = use_live();
    let top = Memo::new(move |_| {
        live.snapshot
            .with(|s| s.diagnosis.as_ref().and_then(|d| d.causes.first().cloned()))
    });
    view! {
        {move || {
            top.get()
                .map(|c| {
                    let href = c
                        .service
                        .as_ref()
                        .map(|s| format!("/services/{}", crate::api::encode(s)))
                        .unwrap_or_else(|| "/map".into());
                    let attr = c
                        .attributes
                        .first()
                        .map(|a| format!(" — {}={} on {} of its bad spans", a.key, a.value, format::percent(a.bad_share)))
                        .unwrap_or_default();
                    view! {
                        <p class="banner cause" role="status" id="probable-cause">
                            <span aria-hidden="true">"🔎 "</span>
                            "Probable cause: "
                            <a href=href>{headline(&c)}</a>
                            {attr}
                        </p>
                    }
                })
        }}
    }
    .into_any()
}

/// The service page's panel.
#[component]
pub fn CausePanel(service: Signal<String>) -> impl IntoView {
    let live = use_live();
    let causes = Memo::new(move |_| {
        let name = service.get();
        live.snapshot.with(|s| {
            s.diagnosis
                .as_ref()
                .map(|d| for_service(d, &name).cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
    });
    view! {
        {move || {
            let list = causes.get();
            if list.is_empty() {
                return view! { <p class="muted">"Nothing wrong here now."</p> }.into_any();
            }
            view! {
                <ol class="causes">
                    {list
                        .into_iter()
                        .map(|c| {
                            let rows = c.attributes.clone();
                            view! {
                                <li class="cause" data-kind=c.kind.clone()>
                                    <p class="cause-head">
                                        <strong>{c.kind.clone()}</strong>
                                        " · "
                                        {headline(&c)}
                                    </p>
                                    <ul class="evidence">
                                        {c.evidence.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}
                                    </ul>
                                    {(!rows.is_empty())
                                        .then(|| {
                                            view! {
                                                <table class="table attributes">
                                                    <thead>
                                                        <tr>
                                                            <th scope="col">"attribute"</th>
                                                            <th scope="col" class="num">"in bad spans"</th>
                                                            <th scope="col" class="num">"in good spans"</th>
                                                        </tr>
                                                    </thead>
                                                    <tbody>
                                                        {rows
                                                            .into_iter()
                                                            .map(|a| {
                                                                view! {
                                                                    <tr>
                                                                        <td class="mono">{format!("{}={}", a.key, a.value)}</td>
                                                                        <td class="num">{format!("{} ({})", format::percent(a.bad_share), a.bad_spans)}</td>
                                                                        <td class="num">{format::percent(a.baseline_share)}</td>
                                                                    </tr>
                                                                }
                                                            })
                                                            .collect_view()}
                                                    </tbody>
                                                </table>
                                            }
                                        })}
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            }
            .into_any()
        }}
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headline_names_what_the_cause_explains_besides_itself() {
        let c = Cause {
            kind: "service".into(),
            service: Some("payment".into()),
            summary: "payment: error rate 100.0% >= 5.0%".into(),
            explains: vec!["checkout".into(), "gateway".into(), "payment".into()],
            ..Cause::default()
        };
        assert_eq!(
            headline(&c),
            "payment: error rate 100.0% >= 5.0% (explains checkout, gateway)"
        );
        let d = Diagnosis {
            causes: vec![c],
            ..Diagnosis::default()
        };
        assert_eq!(for_service(&d, "checkout").count(), 1);
        assert_eq!(for_service(&d, "catalog").count(), 0);
    }
}
