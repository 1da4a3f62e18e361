//! The service map: every service as a node coloured by health (with icon and word), every
//! caller -> callee pair seen in the last minute of spans as an edge labelled with its rate,
//! error % and p95. The asynchronous half is drawn too: dashed edges from each producer to the
//! exchange and from the exchange to each consumer, labelled with the consumer's rate, lag,
//! queue depth and dead letters, amber when it falls behind. Edges are SVG; nodes are links laid
//! over them (focusable, readable text).

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{Banners, EmptyState, HealthBadge};
use crate::format;
use crate::live::use_live;
use crate::map_layout::{HEIGHT, NODE_H, NODE_W, WIDTH, layout};
use crate::types::{Edge, Health, Messaging, Node, Topology};

#[derive(Debug, Clone, PartialEq)]
pub struct EdgeShape {
    pub from: String,
    pub to: String,
    pub d: String,
    pub label: String,
    pub label_x: f64,
    pub label_y: f64,
    /// ok | warn | bad, by error rate.
    pub class: &'static str,
    pub width: f64,
}

/// The services plus, when there is messaging, the exchange as a node and the asynchronous
/// edges through it (so the layout places producers left of it and consumers right).
pub fn with_messaging(t: &Topology, m: &Messaging) -> Topology {
    let mut out = t.clone();
    for q in &m.queues {
        if !out.nodes.iter().any(|n| n.name == q.exchange) {
            out.nodes.push(Node {
                name: q.exchange.clone(),
                health: m.broker,
            });
        }
        for p in &q.producers {
            if !out.edges.iter().any(|e| &e.from == p && e.to == q.exchange) {
                out.edges.push(Edge {
                    from: p.clone(),
                    to: q.exchange.clone(),
                    ..Edge::default()
                });
            }
        }
        out.edges.push(Edge {
            from: q.exchange.clone(),
            to: q.consumer.clone(),
            rps: q.rate,
            ..Edge::default()
        });
    }
    out
}

/// The exchange nodes of `m` (drawn as plain boxes, not links to a service page).
pub fn exchanges(m: &Messaging) -> Vec<String> {
    let mut out: Vec<String> = m.queues.iter().map(|q| q.exchange.clone()).collect();
    out.dedup();
    out
}

/// An SVG path from `from`'s right side to `to`'s left side (back edges curve below).
fn path(
    at: &BTreeMap<String, (f64, f64)>,
    from: &str,
    to: &str,
) -> Option<(String, f64, f64, f64, f64)> {
    let (fx, fy) = *at.get(from)?;
    let (tx, ty) = *at.get(to)?;
    let (x1, y1) = (fx + NODE_W, fy + NODE_H / 2.0);
    let (x2, y2) = (tx, ty + NODE_H / 2.0);
    let d = if x2 > x1 {
        let mid = (x1 + x2) / 2.0;
        format!("M{x1:.1} {y1:.1} C{mid:.1} {y1:.1} {mid:.1} {y2:.1} {x2:.1} {y2:.1}")
    } else {
        let (x1, x2) = (fx + NODE_W / 2.0, tx + NODE_W / 2.0);
        let (y1, y2) = (fy + NODE_H, ty + NODE_H);
        let low = y1.max(y2) + 40.0;
        format!("M{x1:.1} {y1:.1} C{x1:.1} {low:.1} {x2:.1} {low:.1} {x2:.1} {y2:.1}")
    };
    Some((d, x1, y1, x2, y2))
}

/// The dashed edges of the asynchronous half, placed by `at` (the layout of
/// [`with_messaging`]): producer -> exchange (unlabelled), exchange -> consumer labelled
/// `rate · lag · depth · dead letters`, amber when the queue falls behind.
pub fn async_shapes(at: &BTreeMap<String, (f64, f64)>, m: &Messaging) -> Vec<EdgeShape> {
    let mut out = Vec::new();
    for q in &m.queues {
        for p in &q.producers {
            if out
                .iter()
                .any(|e: &EdgeShape| &e.from == p && e.to == q.exchange)
            {
                continue;
            }
            if let Some((d, ..)) = path(at, p, &q.exchange) {
                out.push(EdgeShape {
                    from: p.clone(),
                    to: q.exchange.clone(),
                    d,
                    label: String::new(),
                    label_x: 0.0,
                    label_y: 0.0,
                    class: "ok async",
                    width: 1.5,
                });
            }
        }
        let Some((d, x1, y1, x2, y2)) = path(at, &q.exchange, &q.consumer) else {
            continue;
        };
        let count = |v: Option<f64>| v.map_or_else(|| "?".to_owned(), |v| format!("{v:.0}"));
        out.push(EdgeShape {
            from: q.exchange.clone(),
            to: q.consumer.clone(),
            d,
            label: format!(
                "{}/s · lag {} · queued {} · dlq {}",
                format::rps(q.rate),
                q.lag_s
                    .map_or_else(|| "–".to_owned(), |s| format!("{s:.1} s")),
                count(q.depth),
                count(q.dead_letters),
            ),
            label_x: x1 + (x2 - x1) * 0.62,
            label_y: y1 + (y2 - y1) * 0.62 - 4.0,
            class: if q.health == Health::Degraded {
                "warn async"
            } else {
                "ok async"
            },
            width: (1.0 + (q.rate.max(0.0) + 1.0).log10() * 1.5).min(6.0),
        });
    }
    out
}

pub fn edge_shapes(t: &Topology) -> Vec<EdgeShape> {
    edge_shapes_at(&layout(t), t)
}

fn edge_shapes_at(at: &BTreeMap<String, (f64, f64)>, t: &Topology) -> Vec<EdgeShape> {
    t.edges
        .iter()
        .filter_map(|e| {
            let (d, x1, y1, x2, y2) = path(at, &e.from, &e.to)?;
            let class = if e.error_rate >= 0.05 {
                "bad"
            } else if e.error_rate > 0.0 {
                "warn"
            } else {
                "ok"
            };
            Some(EdgeShape {
                from: e.from.clone(),
                to: e.to.clone(),
                d,
                label: format!(
                    "{}/s · {} · p95 {}",
                    format::rps(e.rps),
                    format::percent(e.error_rate),
                    format::ms(e.p95_ms)
                ),
                // Labels sit near the callee end, where edges into one node fan apart.
                label_x: x1 + (x2 - x1) * 0.62,
                label_y: y1 + (y2 - y1) * 0.62 - 4.0,
                class,
                width: (1.0 + (e.rps.max(0.0) + 1.0).log10() * 1.5).min(6.0),
            })
        })
        .collect()
}

#[component]
pub fn MapPage() -> impl IntoView {
    let live = use_live();
    let topology = Memo::new(move |_| live.snapshot.with(|s| s.topology.clone()));
    let messaging = Memo::new(move |_| live.snapshot.with(|s| s.messaging.clone()));
    let drawn = Memo::new(move |_| topology.with(|t| messaging.with(|m| with_messaging(t, m))));
    let positions = Memo::new(move |_| drawn.with(layout));
    let edges = Memo::new(move |_| {
        positions.with(|at| {
            let mut all = topology.with(|t| edge_shapes_at(at, t));
            all.extend(messaging.with(|m| async_shapes(at, m)));
            all
        })
    });
    let exchange_names = Memo::new(move |_| messaging.with(exchanges));
    let names = Memo::new(move |_| positions.with(|p| p.keys().cloned().collect::<Vec<_>>()));
    view! {
        <Title text="Service map · Apiary" />
        <h1 class="page-title">"Service map"</h1>
        <Banners />
        <Show
            when=move || !names.with(Vec::is_empty)
            fallback=|| {
                view! {
                    <EmptyState
                        title="No services seen yet."
                        hint="No traffic yet — is the load generator running?"
                    />
                }
            }
        >
            <p class="muted">
                {move || {
                    if edges.with(Vec::is_empty) {
                        "No calls in the last minute — is the load generator running?".to_owned()
                    } else {
                        format!("{} edges in the last minute; labels: rate · errors · p95 (dashed, through the exchange: rate · lag · queued · dead letters)", edges.with(Vec::len))
                    }
                }}
            </p>
            <div class="map" style:aspect-ratio=format!("{WIDTH} / {HEIGHT}")>
                <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") aria-hidden="true" class="map-edges">
                    <defs>
                        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse">
                            <path d="M0 0 L10 5 L0 10 z" class="arrowhead"></path>
                        </marker>
                    </defs>
                    <For
                        each=move || edges.get()
                        key=|e| (e.from.clone(), e.to.clone(), e.d.clone(), e.class, e.label.clone())
                        children=|e| {
                            view! {
                                <g class=format!("edge {}", e.class)>
                                    <path d=e.d.clone() stroke-width=format!("{:.1}", e.width) marker-end="url(#arrow)"></path>
                                    <text x=format!("{:.1}", e.label_x) y=format!("{:.1}", e.label_y) text-anchor="middle">
                                        {e.label.clone()}
                                    </text>
                                </g>
                            }
                        }
                    />
                </svg>
                <For
                    each=move || names.get()
                    key=|n| n.clone()
                    children=move |name| {
                        let n = name.clone();
                        let pos = Memo::new(move |_| positions.with(|p| p.get(&n).copied().unwrap_or_default()));
                        let n2 = name.clone();
                        let health = Signal::derive(move || {
                            drawn.with(|t| t.nodes.iter().find(|x| x.name == n2).map(|x| x.health).unwrap_or_default())
                        });
                        if exchange_names.with_untracked(|x| x.contains(&name)) {
                            return view! {
                                <span
                                    class="node exchange"
                                    data-node=name.clone()
                                    title="message exchange (RabbitMQ): dashed edges are asynchronous"
                                    style:left=move || format!("{:.2}%", pos.get().0 / WIDTH * 100.0)
                                    style:top=move || format!("{:.2}%", pos.get().1 / HEIGHT * 100.0)
                                    style:width=format!("{:.2}%", NODE_W / WIDTH * 100.0)
                                    style:height=format!("{:.2}%", NODE_H / HEIGHT * 100.0)
                                >
                                    <span class="node-name">{name.clone()}</span>
                                    <HealthBadge health />
                                </span>
                            }
                            .into_any();
                        }
                        let n3 = name.clone();
                        // A scaled-out service: how many instances, and how many are down.
                        let instances = Signal::derive(move || {
                            live.snapshot.with(|s| {
                                s.service(&n3).map_or(String::new(), |v| {
                                    let all = v.instances.len();
                                    let down = v.instances.iter().filter(|i| i.health == Health::Down).count();
                                    match (all, down) {
                                        (0 | 1, _) => String::new(),
                                        (all, 0) => format!("×{all}"),
                                        (all, down) => format!("×{all} ({down} down)"),
                                    }
                                })
                            })
                        });
                        view! {
                            <a
                                class=move || format!("node h-{}", health.get().word())
                                data-node=name.clone()
                                href=format!("/services/{}", crate::api::encode(&name))
                                style:left=move || format!("{:.2}%", pos.get().0 / WIDTH * 100.0)
                                style:top=move || format!("{:.2}%", pos.get().1 / HEIGHT * 100.0)
                                style:width=format!("{:.2}%", NODE_W / WIDTH * 100.0)
                                style:height=format!("{:.2}%", NODE_H / HEIGHT * 100.0)
                            >
                                <span class="node-name">{name.clone()}</span>
                                <span class="node-instances" title="instances">{instances}</span>
                                <HealthBadge health />
                            </a>
                        }
                        .into_any()
                    }
                />
            </div>
        </Show>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Edge, Node};

    #[test]
    fn edges_are_labelled_with_rate_errors_and_p95() {
        let t = Topology {
            nodes: vec![
                Node {
                    name: "gateway".into(),
                    ..Node::default()
                },
                Node {
                    name: "catalog".into(),
                    ..Node::default()
                },
            ],
            edges: vec![Edge {
                from: "gateway".into(),
                to: "catalog".into(),
                rps: 12.34,
                error_rate: 0.1,
                p95_ms: Some(23.0),
            }],
        };
        let e = edge_shapes(&t);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].label, "12.3/s · 10.0% · p95 23 ms");
        assert_eq!(e[0].class, "bad");
        assert!(e[0].d.starts_with('M'));
    }

    #[test]
    fn queues_become_dashed_edges_through_the_exchange() {
        use crate::types::QueueView;
        let t = Topology {
            nodes: ["orders", "notifications"]
                .map(|n| Node {
                    name: n.into(),
                    ..Node::default()
                })
                .to_vec(),
            edges: Vec::new(),
        };
        let m = Messaging {
            broker: Health::Up,
            queues: vec![QueueView {
                queue: "notifications.order-placed".into(),
                exchange: "shop.events".into(),
                producers: vec!["orders".into()],
                consumer: "notifications".into(),
                depth: Some(42.0),
                dead_letters: Some(3.0),
                rate: 1.5,
                lag_s: Some(6.2),
                health: Health::Degraded,
                ..QueueView::default()
            }],
            ..Messaging::default()
        };
        let drawn = with_messaging(&t, &m);
        let at = layout(&drawn);
        assert!(
            at["orders"].0 < at["shop.events"].0 && at["shop.events"].0 < at["notifications"].0
        );
        let e = async_shapes(&at, &m);
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].label, "1.5/s · lag 6.2 s · queued 42 · dlq 3");
        assert_eq!(e[1].class, "warn async");
        assert_eq!(exchanges(&m), ["shop.events"]);
    }
}
