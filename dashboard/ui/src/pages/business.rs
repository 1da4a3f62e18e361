//! Business: orders/min, revenue/min, conversion and average order value; the funnel browse ->
//! cart -> checkout -> paid; payment failures by reason; stock-outs; and the KPIs over time
//! (kept in the browser from the event stream, with fault intervals shaded).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::chart::PALETTE;
use crate::components::{Banners, EmptyState, Kpi, Line, LineChart};
use crate::format;
use crate::live::use_live;
use crate::pages::overview::{aov_text, conversion_text, revenue_text};
use crate::types::Business;

/// One funnel step: label, per-minute rate, share of the first step, share of the step before.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub label: &'static str,
    pub per_min: f64,
    pub of_first: f64,
    pub of_previous: Option<f64>,
}

pub fn funnel(b: &Business) -> Vec<Step> {
    let raw = [
        ("Browse (product views)", b.product_views_per_min),
        ("Cart (additions)", b.cart_additions_per_min),
        ("Checkout (started)", b.checkouts_started_per_min),
        ("Paid (completed)", b.checkouts_completed_per_min),
    ];
    let first = raw[0].1;
    let mut out: Vec<Step> = Vec::with_capacity(raw.len());
    for (i, (label, v)) in raw.into_iter().enumerate() {
        let prev = (i > 0).then(|| raw_prev(&out));
        out.push(Step {
            label,
            per_min: v,
            of_first: if first > 0.0 {
                (v / first).min(1.0)
            } else {
                0.0
            },
            of_previous: prev
                .flatten()
                .map(|p| if p > 0.0 { (v / p).min(1.0) } else { 0.0 }),
        });
    }
    out
}

fn raw_prev(out: &[Step]) -> Option<f64> {
    out.last().map(|s| s.per_min)
}

#[component]
pub fn BusinessPage() -> impl IntoView {
    let live = use_live();
    let b = move |f: fn(&Business) -> String| {
        Signal::derive(move || live.snapshot.with(|s| f(&s.business)))
    };
    let faults = Signal::derive(move || live.snapshot.with(|s| s.faults.clone()));
    let history_line =
        move |label: &'static str,
              color: &'static str,
              f: fn(&crate::live::BusinessPoint) -> Option<f64>| {
            Signal::derive(move || {
                live.history.with(|h| {
                    vec![Line {
                        label: label.into(),
                        color,
                        points: h.iter().filter_map(|p| f(p).map(|v| (p.t, v))).collect(),
                        emphasis: true,
                    }]
                })
            })
        };
    let steps = Memo::new(move |_| live.snapshot.with(|s| funnel(&s.business)));
    let failures = Memo::new(move |_| {
        live.snapshot.with(|s| {
            let mut v: Vec<(String, f64)> = s
                .business
                .payment_failures_per_min
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v
        })
    });
    let step_view = move |i: usize| {
        let step = move || steps.with(|s| s.get(i).cloned());
        view! {
            <li class="funnel-step">
                <span class="funnel-label">{move || step().map(|s| s.label).unwrap_or_default()}</span>
                <span class="funnel-track">
                    <span
                        class="funnel-bar"
                        style:width=move || format!("{:.1}%", step().map_or(0.0, |s| s.of_first * 100.0))
                    ></span>
                </span>
                <span class="num funnel-value">
                    {move || step().map(|s| format::per_min(s.per_min)).unwrap_or_default()}
                </span>
                <span class="num funnel-step-rate">
                    {move || {
                        step()
                            .and_then(|s| s.of_previous)
                            .map(|r| format!("{} of previous", format::percent(r)))
                            .unwrap_or_default()
                    }}
                </span>
            </li>
        }
    };
    view! {
        <Title text="Business · Apiary" />
        <h1 class="page-title">"Business"</h1>
        <Banners />
        <section class="kpis" aria-label="Shop KPIs (last minute)">
            <Kpi
                id="biz-orders"
                label="Orders/min"
                value=b(|b| format::per_min(b.orders_per_min))
                traces=ORDER_TRACES
            />
            <Kpi id="biz-revenue" label="Revenue/min" value=b(revenue_text) />
            <Kpi label="Conversion" value=b(conversion_text) hint="completed / started checkouts" />
            <Kpi label="Avg order value" value=b(aov_text) />
            <Kpi
                id="biz-failed"
                label="Failed orders/min"
                value=b(|b| format::per_min(b.orders_failed_per_min))
                traces=FAILED_CHECKOUT_TRACES
            />
            <Kpi label="Stock-outs/min" value=b(|b| format::per_min(b.stockouts_per_min)) />
            <Kpi
                label="Carts lost/min"
                value=b(|b| format::per_min(b.carts_lost_per_min))
                hint="carts gone with the cart store (a cart restart)"
            />
            <Kpi
                id="biz-fulfilment"
                label="Awaiting fulfilment"
                value=b(|b| b.awaiting_fulfilment.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}")))
                hint="orders placed, not shipped yet: outbox + shipping queue + warehouse"
            />
        </section>
        <div class="columns">
            <section class="panel" aria-labelledby="funnel-h">
                <h2 id="funnel-h">"Funnel (per minute)"</h2>
                <ol class="funnel">
                    <For
                        each=move || vec![0usize, 1, 2, 3]
                        key=|i| *i
                        children=step_view
                    />
                </ol>
            </section>
            <section class="panel" aria-labelledby="fail-h">
                <h2 id="fail-h">"Payment failures by reason (per minute)"</h2>
                {move || {
                    let f = failures.get();
                    if f.is_empty() {
                        return view! { <EmptyState title="No payment failures in the last minute." /> }.into_any();
                    }
                    let max = f.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1e-9);
                    view! {
                        <ul class="bars">
                            {f
                                .into_iter()
                                .map(|(reason, v)| {
                                    view! {
                                        <li>
                                            <span class="bar-label mono">{reason}</span>
                                            <span class="bar-track">
                                                <span class="bar-fill" style:width=format!("{:.1}%", v / max * 100.0)></span>
                                            </span>
                                            <span class="num">{format::per_min(v)}</span>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                        .into_any()
                }}
            </section>
        </div>
        <section class="charts" aria-label="KPIs over time">
            <LineChart
                title="Orders/min"
                lines=history_line("orders/min", PALETTE[0], |p| Some(p.orders_per_min))
                faults
                exemplar=ORDER_TRACES.to_owned()
                format=format::per_min
                empty_text="Collecting — the chart fills while this page is open"
            />
            <LineChart
                title="Revenue/min (major units)"
                lines=history_line("revenue/min", PALETTE[2], |p| Some(p.revenue_per_min / 100.0))
                faults
                format=|v| format::thousands(v.max(0.0).round() as u64)
                empty_text="Collecting — the chart fills while this page is open"
            />
            <LineChart
                title="Payment failures/min"
                lines=history_line("failures/min", PALETTE[3], |p| Some(p.payment_failures_per_min))
                faults
                exemplar=PAYMENT_FAILURE_TRACES.to_owned()
                format=format::per_min
                empty_text="Collecting — the chart fills while this page is open"
            />
        </section>
    }
    .into_any()
}

/// Requests behind the KPIs: an order placed is a trace through orders that nothing failed;
/// a payment failure is payment answering 4xx (a decline); a failed checkout is checkout
/// answering the shopper with a 4xx or failing.
const ORDER_TRACES: &str = "/traces?service=orders&status=ok";
const PAYMENT_FAILURE_TRACES: &str = "/traces?service=payment&status=rejected";
const FAILED_CHECKOUT_TRACES: &str = "/traces?service=checkout&route=%2Fcheckouts&status=rejected";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_funnel_is_shares_of_the_first_and_previous_steps() {
        let b = Business {
            product_views_per_min: 100.0,
            cart_additions_per_min: 40.0,
            checkouts_started_per_min: 20.0,
            checkouts_completed_per_min: 15.0,
            ..Business::default()
        };
        let f = funnel(&b);
        assert_eq!(f.len(), 4);
        assert_eq!(f[0].of_previous, None);
        assert!((f[1].of_first - 0.4).abs() < 1e-9);
        assert_eq!(f[3].of_previous, Some(0.75));
        let empty = funnel(&Business::default());
        assert!(empty.iter().all(|s| s.of_first == 0.0));
    }
}
