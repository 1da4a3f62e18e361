//! Drills: what can be run (from `drills/`), the runs so far with their verdicts and the two
//! times, and one run's report (timeline, SLIs before / during / after). Read-only: drills are
//! started with the control token, from `apiary drill run NAME`.

use dashboard_api::{Phases, Report, RunInfo, Slis, Verdict};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{Api, encode};
use crate::components::{EmptyState, ErrorBox};
use crate::format;

/// `1.4 s`, or "not seen".
pub fn seconds(ms: Option<u64>) -> String {
    ms.map_or_else(
        || "not seen".to_owned(),
        |m| format!("{:.1} s", m as f64 / 1000.0),
    )
}

fn verdict_badge(verdict: Verdict) -> impl IntoView + use<> {
    let (class, icon) = match verdict {
        Verdict::Passed => ("badge h-up", "✓"),
        Verdict::Running => ("badge h-unknown", "…"),
        Verdict::Aborted | Verdict::Stopped => ("badge h-degraded", "!"),
        Verdict::Failed => ("badge h-down", "✕"),
    };
    view! {
        <span class=class>
            <span class="icon" aria-hidden="true">{icon}</span>
            <span class="word">{verdict.word()}</span>
        </span>
    }
}

#[component]
pub fn DrillsPage() -> impl IntoView {
    let api = Api::new();
    let drills = Resource::new(|| (), move |()| api.drills());
    let api = Api::new();
    let runs = Resource::new(|| (), move |()| api.runs());
    view! {
        <Title text="Drills · Apiary" />
        <h1 class="page-title">"Drills"</h1>
        <p class="hint">
            "Run one with " <code>"apiary drill run NAME"</code>
            " (it needs the control token); its faults are shaded on every chart while it runs."
        </p>
        <h2>"Runs"</h2>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                runs.get()
                    .map(|r| match r {
                        Ok(r) if r.runs.is_empty() => {
                            view! { <EmptyState title="No drill has run yet." /> }.into_any()
                        }
                        Ok(r) => view! { <RunTable runs=r.runs /> }.into_any(),
                        Err(e) => view! { <ErrorBox message=e.to_string() /> }.into_any(),
                    })
            }}
        </Transition>
        <h2>"Drills"</h2>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                drills
                    .get()
                    .map(|r| match r {
                        Ok(d) if d.drills.is_empty() => {
                            view! { <EmptyState title="No drill files found." /> }.into_any()
                        }
                        Ok(d) => {
                            view! {
                                <table class="table drills">
                                    <thead>
                                        <tr>
                                            <th scope="col">"name"</th>
                                            <th scope="col">"what happens"</th>
                                            <th scope="col">"expected symptom"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {d
                                            .drills
                                            .into_iter()
                                            .map(|d| {
                                                view! {
                                                    <tr>
                                                        <td class="mono">{d.name.clone()}</td>
                                                        <td>
                                                            <strong>{d.title.clone().unwrap_or_default()}</strong>
                                                            " — "
                                                            {d.summary.clone().unwrap_or_default()}
                                                            {(!d.problems.is_empty())
                                                                .then(|| {
                                                                    view! {
                                                                        <ErrorBox message=format!(
                                                                            "cannot run: {}",
                                                                            d.problems.join("; "),
                                                                        ) />
                                                                    }
                                                                })}
                                                        </td>
                                                        <td>{d.symptom.clone().unwrap_or_default()}</td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <ErrorBox message=e.to_string() /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

#[component]
fn RunTable(runs: Vec<RunInfo>) -> impl IntoView {
    view! {
        <table class="table runs">
            <thead>
                <tr>
                    <th scope="col">"started"</th>
                    <th scope="col">"drill"</th>
                    <th scope="col">"verdict"</th>
                    <th scope="col" class="n">"time to detect"</th>
                    <th scope="col" class="n">"time to recover"</th>
                </tr>
            </thead>
            <tbody>
                {runs
                    .into_iter()
                    .map(|r| {
                        let href = format!("/drills/runs/{}", encode(&r.id));
                        view! {
                            <tr class:error=r.verdict == Verdict::Failed>
                                <td class="num">{format::clock_ms(r.started_at)}</td>
                                <td>
                                    <a href=href title=r.reasons.join("; ")>
                                        {r.title.clone()}
                                    </a>
                                </td>
                                <td>{verdict_badge(r.verdict)}</td>
                                <td class="n num">{seconds(r.time_to_detect_ms)}</td>
                                <td class="n num">{seconds(r.time_to_recover_ms)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

fn sli_rows(slis: &Phases) -> Vec<(String, String, String, String)> {
    let text = |m: &Slis, k: &str| m.get(k).map_or_else(|| "—".to_owned(), ToString::to_string);
    let mut keys: Vec<&String> = slis
        .before
        .keys()
        .chain(slis.during.keys())
        .chain(slis.after.keys())
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|k| {
            (
                k.clone(),
                text(&slis.before, k),
                text(&slis.during, k),
                text(&slis.after, k),
            )
        })
        .collect()
}

#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let api = Api::new();
    let report = Resource::new(move || id.get(), move |id| api.report(id));
    view! {
        <Title text="Drill report · Apiary" />
        <p>
            <a href="/drills">"← Drills"</a>
        </p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                report
                    .get()
                    .map(|r| match r {
                        Ok(r) => view! { <ReportView report=r /> }.into_any(),
                        Err(e) => view! { <ErrorBox message=e.to_string() /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

/// The stages as a timeline: one bar, a segment per step, widths by duration, and a table.
fn stage_view(report: &Report) -> AnyView {
    let Some(st) = &report.stages else {
        return view! { <p class="muted">"Not measured (the drill ended before its first fault)."</p> }
            .into_any();
    };
    let total = st
        .stages
        .iter()
        .filter_map(|s| s.at_ms)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let segments: Vec<(String, f64, bool)> = st
        .stages
        .iter()
        .filter_map(|s| {
            s.step_ms.map(|d| {
                (
                    s.name.clone(),
                    d as f64 / total * 100.0,
                    st.dominant.as_deref() == Some(s.name.as_str()),
                )
            })
        })
        .collect();
    let rows = st.stages.clone();
    let summary = format!(
        "{}{}",
        st.dominant
            .as_ref()
            .map(|d| format!("Longest step: {d}. "))
            .unwrap_or_default(),
        st.export_ms
            .map(|e| format!(
                "The affected span took {e} ms from its end to the dashboard (export). "
            ))
            .unwrap_or_default()
    );
    view! {
        <div class="stage-bar" role="img" aria-label="time to detect by stage">
            {segments
                .into_iter()
                .map(|(name, pct, dominant)| {
                    view! {
                        <span
                            class="stage-seg"
                            class:dominant=dominant
                            style:width=format!("{pct:.1}%")
                            title=name
                        ></span>
                    }
                })
                .collect_view()}
        </div>
        <table class="table stages">
            <thead>
                <tr>
                    <th scope="col">"stage"</th>
                    <th scope="col" class="n">"at"</th>
                    <th scope="col" class="n">"step"</th>
                    <th scope="col">"note"</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|s| {
                        view! {
                            <tr data-stage=s.name.clone()>
                                <td>{s.name.clone()}</td>
                                <td class="n num">{s.at_ms.map_or_else(|| "–".to_owned(), |t| format!("{t} ms"))}</td>
                                <td class="n num">{s.step_ms.map_or_else(|| "–".to_owned(), |t| format!("+{t} ms"))}</td>
                                <td class="muted">{s.note.clone().unwrap_or_default()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <p class="muted">{summary} {st.note.clone()}</p>
    }
    .into_any()
}

/// "payment: error rate 100% >= 5% — right (injected: payment)".
pub fn cause_line(report: &Report) -> String {
    let Some(c) = &report.cause else {
        return "Not read (the symptom never appeared while a fault was on).".into();
    };
    let top = c
        .top
        .as_ref()
        .map_or_else(|| "none".to_owned(), crate::components::cause::headline);
    let verdict = if c.hit { "right" } else { "wrong" };
    let attribute = match c.attribute_hit {
        Some(true) => "; its top attribute is the fault's",
        Some(false) => "; its top attribute is not the fault's",
        None => "",
    };
    format!(
        "{top} — {verdict} (injected: {}; read {:.1} s into the drill){attribute}",
        c.expected.join("; "),
        c.at_ms as f64 / 1000.0
    )
}

#[component]
fn ReportView(report: Report) -> impl IntoView {
    let rows = sli_rows(&report.slis);
    view! {
        <h1 class="page-title">{report.title.clone()} " " {verdict_badge(report.verdict)}</h1>
        <ul class="reasons">
            {report.reasons.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}
        </ul>
        <section class="kpis" aria-label="Times">
            <div class="kpi">
                <span class="label">"time to detect"</span>
                <span class="value num">{seconds(report.time_to_detect_ms)}</span>
            </div>
            <div class="kpi">
                <span class="label">"time to recover"</span>
                <span class="value num">{seconds(report.time_to_recover_ms)}</span>
            </div>
            <div class="kpi">
                <span class="label">"time scale"</span>
                <span class="value num">{format!("{}x", report.time_scale)}</span>
            </div>
        </section>
        <p>"Expected symptom: " {report.symptom.clone()}</p>
        <h2>"Time to detect, stage by stage"</h2>
        {stage_view(&report)}
        <h2>"Probable cause"</h2>
        <p id="cause-check">{cause_line(&report)}</p>
        <h2>"Error budget spent"</h2>
        {if report.budget.is_empty() {
            view! { <p class="muted">"No objective lost budget during the drill."</p> }.into_any()
        } else {
            view! {
                <table class="table budget">
                    <thead>
                        <tr>
                            <th scope="col">"service"</th>
                            <th scope="col">"objective"</th>
                            <th scope="col" class="n">"bad / requests"</th>
                            <th scope="col" class="n">"of a 30-day budget"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {report
                            .budget
                            .iter()
                            .map(|b| {
                                view! {
                                    <tr>
                                        <td>{b.service.clone()}</td>
                                        <td>{b.slo.clone()}</td>
                                        <td class="n num">{format!("{:.0} / {:.0}", b.bad, b.requests)}</td>
                                        <td class="n num">{format!("{:.3}%", b.spent_30d * 100.0)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }}
        <h2>"Faults"</h2>
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"fault"</th>
                    <th scope="col">"watched"</th>
                    <th scope="col" class="n">"detected after"</th>
                    <th scope="col" class="n">"recovered after"</th>
                </tr>
            </thead>
            <tbody>
                {report
                    .faults
                    .iter()
                    .map(|f| {
                        view! {
                            <tr>
                                <td>{f.label.clone()}</td>
                                <td>{f.watched.clone().unwrap_or_default()}</td>
                                <td class="n num">{seconds(f.time_to_detect_ms)}</td>
                                <td class="n num">{seconds(f.time_to_recover_ms)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <h2>"SLIs"</h2>
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"SLI"</th>
                    <th scope="col">"before"</th>
                    <th scope="col">"during (worst)"</th>
                    <th scope="col">"after"</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|(k, b, d, a)| {
                        view! {
                            <tr>
                                <td class="mono">{k}</td>
                                <td class="num">{b}</td>
                                <td class="num">{d}</td>
                                <td class="num">{a}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <h2>"Timeline"</h2>
        <ol class="timeline">
            {report
                .timeline
                .iter()
                .map(|e| {
                    view! {
                        <li>
                            <span class="num">{format!("{:>6.1} s ", e.t_ms as f64 / 1000.0)}</span>
                            {e.event.clone()}
                        </li>
                    }
                })
                .collect_view()}
        </ol>
        <h2>"For the trainer"</h2>
        <p class="narrative">{report.narrative.clone()}</p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_seconds() {
        assert_eq!(seconds(Some(1450)), "1.4 s");
        assert_eq!(seconds(None), "not seen");
    }

    #[test]
    fn sli_rows_line_up_the_phases() {
        use dashboard_api::{Health, Reading};
        let slis = Phases {
            before: [("a".to_owned(), Reading::Health(Health::Up))].into(),
            during: [
                ("a".to_owned(), Reading::Health(Health::Degraded)),
                ("b".to_owned(), Reading::Number(2.5)),
            ]
            .into(),
            after: Slis::new(),
        };
        assert_eq!(
            sli_rows(&slis),
            vec![
                ("a".into(), "up".into(), "degraded".into(), "—".into()),
                ("b".into(), "—".into(), "2.5".into(), "—".into()),
            ]
        );
    }
}
