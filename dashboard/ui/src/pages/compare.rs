//! Two traces side by side (`/traces/compare?a=&b=`, or two ticked rows of the trace search):
//! spans matched by place, each pair's durations and the difference, and the spans only one
//! trace has — a fast and a slow checkout, or one from before a drill and one from during it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{Api, encode};
use crate::components::ErrorBox;
use crate::format;
use crate::pages::traces::valid_trace_id;
use crate::types::{TraceComparison, TraceSummary};

/// The two trace ids the URL names (`a` and `b`, or the search's two ticked `t`), checked.
pub fn pair(
    a: Option<String>,
    b: Option<String>,
    ticked: &[String],
) -> Result<(String, String), String> {
    let (a, b) = match (a, b) {
        (Some(a), Some(b)) => (a, b),
        _ if ticked.len() == 2 => (ticked[0].clone(), ticked[1].clone()),
        _ if ticked.is_empty() => {
            return Err("Pick two traces to compare: tick two rows of the trace search.".into());
        }
        _ => {
            return Err(format!(
                "Tick exactly two traces to compare ({} ticked).",
                ticked.len()
            ));
        }
    };
    match (valid_trace_id(&a), valid_trace_id(&b)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err("A trace id is 32 hex characters.".into()),
    }
}

/// How a matched pair differs: "slower" when b took at least 1 ms and 20 % longer than a,
/// "faster" the other way round, "" otherwise.
pub fn delta_class(a_ms: f64, b_ms: f64) -> &'static str {
    let d = b_ms - a_ms;
    if d >= 1.0 && d >= 0.2 * a_ms {
        "delta slower"
    } else if -d >= 1.0 && -d >= 0.2 * b_ms {
        "delta faster"
    } else {
        "delta"
    }
}

/// A signed duration difference: "+55 ms", "−3.0 ms", "±0 ms" under 0.05 ms.
pub fn signed_ms(d: f64) -> String {
    if d.abs() < 0.05 {
        "±0 ms".to_owned()
    } else if d >= 0.0 {
        format!("+{}", format::ms(Some(d)))
    } else {
        format!("−{}", format::ms(Some(-d)))
    }
}

#[component]
fn SideCard(label: &'static str, t: TraceSummary) -> impl IntoView {
    let href = format!("/traces/{}", encode(&t.trace_id));
    view! {
        <div class="panel cmp-side">
            <h2>{label}</h2>
            <p>
                <a class="mono" href=href>{format::short_id(&t.trace_id).to_owned()}</a>
                " · "
                <strong>{t.root_service.clone()}</strong>
                " "
                <span class="mono">{t.root_name.clone()}</span>
            </p>
            <p>
                <span class="num">{format::ms(Some(t.duration_ms))}</span>
                {format!(" · {} spans · started ", t.span_count)}
                {format::clock_ns(t.start_unix_nano)}
                {if t.error { " · error" } else if t.rejected { " · answered 4xx" } else { " · ok" }}
            </p>
        </div>
    }
}

#[component]
fn Comparison(c: TraceComparison) -> impl IntoView {
    let total = c.b.duration_ms - c.a.duration_ms;
    // The three matched spans whose durations differ most.
    let mut biggest: Vec<(f64, String)> = c
        .rows
        .iter()
        .filter_map(|r| {
            r.delta_ms()
                .map(|d| (d, format!("{} {}", r.service, r.name)))
        })
        .collect();
    biggest.sort_by(|x, y| y.0.abs().total_cmp(&x.0.abs()));
    biggest.truncate(3);
    let biggest = biggest
        .into_iter()
        .map(|(d, name)| format!("{name} {}", signed_ms(d)))
        .collect::<Vec<_>>()
        .join(" · ");
    let rows = c
        .rows
        .iter()
        .map(|r| {
            let (class, delta) = match (&r.a, &r.b, r.delta_ms()) {
                (Some(a), Some(b), Some(d)) => {
                    (delta_class(a.duration_ms, b.duration_ms), signed_ms(d))
                }
                (Some(_), _, _) => ("delta", "only in A".to_owned()),
                _ => ("delta", "only in B".to_owned()),
            };
            let dur = |s: &Option<crate::types::Side>| match s {
                Some(s) => format!(
                    "{}{}",
                    format::ms(Some(s.duration_ms)),
                    if s.error { " ✕" } else { "" }
                ),
                None => "—".to_owned(),
            };
            view! {
                <tr class:only=r.a.is_none() || r.b.is_none()>
                    <td style:padding-left=format!("{}rem", 0.4 + f64::from(r.depth) * 0.9)>
                        <span class=format!("svc svc-{}", r.service)>{r.service.clone()}</span>
                        " "
                        <span class="mono">{r.name.clone()}</span>
                    </td>
                    <td class="n num">{dur(&r.a)}</td>
                    <td class="n num">{dur(&r.b)}</td>
                    <td class=format!("n num {class}")>{delta}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="cmp-sides">
            <SideCard label="A" t=c.a.clone() />
            <SideCard label="B" t=c.b.clone() />
        </div>
        <p id="compare-summary">
            {format!(
                "B took {} ({}) · {} spans matched · {} only in A · {} only in B",
                signed_ms(total),
                if total >= 0.0 { "slower" } else { "faster" },
                c.matched,
                c.only_a,
                c.only_b,
            )}
            {(!biggest.is_empty()).then(|| format!(" · largest differences: {biggest}"))}
        </p>
        <table class="table cmp-table" aria-label="Spans side by side">
            <thead>
                <tr>
                    <th scope="col">"span"</th>
                    <th scope="col" class="n">"A"</th>
                    <th scope="col" class="n">"B"</th>
                    <th scope="col" class="n">"B − A"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
pub fn ComparePage() -> impl IntoView {
    let q = use_query_map();
    let wanted = Memo::new(move |_| {
        q.with(|q| pair(q.get("a"), q.get("b"), &q.get_all("t").unwrap_or_default()))
    });
    let api = Api::new();
    let comparison = Resource::new(
        move || wanted.get(),
        move |w| {
            let api = api.clone();
            async move {
                match w {
                    Ok((a, b)) => api.compare(a, b).await.map_err(|e| e.to_string()),
                    Err(why) => Err(why),
                }
            }
        },
    );
    view! {
        <Title text="Compare traces · Apiary" />
        <h1 class="page-title">"Compare traces"</h1>
        <p class="muted">
            "Spans are matched by place: the same service and operation under matched parents, the n-th such call matching the n-th. "
            <a href="/traces">"Back to the trace search"</a>
        </p>
        <Transition fallback=|| view! { <p class="loading">"Loading both traces…"</p> }>
            {move || {
                comparison
                    .get()
                    .map(|r| match r {
                        Ok(c) => view! { <Comparison c /> }.into_any(),
                        Err(e) => view! { <ErrorBox message=e /> }.into_any(),
                    })
            }}
        </Transition>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn the_pair_comes_from_a_and_b_or_two_ticks() {
        assert_eq!(
            pair(Some(A.into()), Some(B.into()), &[]),
            Ok((A.into(), B.into()))
        );
        assert_eq!(
            pair(None, None, &[B.into(), A.into()]),
            Ok((B.into(), A.into()))
        );
        assert!(
            pair(None, None, &[A.into()])
                .expect_err("refused")
                .contains("exactly two")
        );
        assert!(
            pair(None, None, &[])
                .expect_err("refused")
                .contains("Pick two")
        );
        assert!(
            pair(Some("x".into()), Some(B.into()), &[])
                .expect_err("refused")
                .contains("32 hex")
        );
    }

    #[test]
    fn deltas_matter_from_a_millisecond_and_a_fifth() {
        assert_eq!(delta_class(5.0, 60.0), "delta slower");
        assert_eq!(delta_class(60.0, 5.0), "delta faster");
        assert_eq!(delta_class(100.0, 110.0), "delta");
        assert_eq!(delta_class(0.2, 0.9), "delta");
        assert_eq!(signed_ms(55.0), "+55 ms");
        assert_eq!(signed_ms(-3.0), "−3.0 ms");
        assert_eq!(signed_ms(-0.01), "±0 ms");
    }
}
