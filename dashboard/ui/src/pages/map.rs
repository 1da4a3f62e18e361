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
    /// ok | warn | bad, by failure rate (4xx answers are not failures).
    pub class: &'static str,
    pub width: f64,
    /// The full breakdown, as the edge's tooltip.
    pub title: String,
    /// Where the edge leaves its caller and reaches its callee, and whether it runs left to
    /// right (else it curves below): what [`place_labels`] slides the label along.
    ends: (f64, f64, f64, f64),
    forward: bool,
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
                    title: format!("{p} publishes to {}", q.exchange),
                    ends: (0.0, 0.0, 0.0, 0.0),
                    forward: true,
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
            title: format!("{} -> {} (queue {})", q.exchange, q.consumer, q.queue),
            ends: (x1, y1, x2, y2),
            forward: x2 > x1,
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
            // Failures only: a 404 lookup or a 402 decline is an expected answer.
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
                title: format!(
                    "{} -> {}: {}/s, {} failed (5xx, timeouts, refused), {} answered 4xx (not found, declined: expected), p95 {}",
                    e.from,
                    e.to,
                    format::rps(e.rps),
                    format::percent(e.error_rate),
                    format::percent(e.rejected_rate),
                    format::ms(e.p95_ms)
                ),
                ends: (x1, y1, x2, y2),
                forward: x2 > x1,
            })
        })
        .collect()
}

/// Label text size in view-box units (the stylesheet's `.edge text`, 11px, in presenter mode
/// too: the map grows with the screen, so the proportions hold) and the width of one
/// character, generously (sans-serif averages about 0.55 em).
const LABEL_H: f64 = 13.0;
const LABEL_CHAR_W: f64 = 6.4;

/// A label's box, centred on (x, y - 4) like its text.
fn label_box(label: &str, x: f64, y: f64) -> (f64, f64, f64, f64) {
    let w = label.chars().count() as f64 * LABEL_CHAR_W;
    (x - w / 2.0, y - LABEL_H + 2.0, x + w / 2.0, y + 2.0)
}

fn overlap(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// The point at `t` of an edge drawn by [`path`].
fn along(ends: (f64, f64, f64, f64), forward: bool, t: f64) -> (f64, f64) {
    let (x1, y1, x2, y2) = ends;
    if forward {
        // The cubic from (x1, y1) via (mid, y1) and (mid, y2) to (x2, y2).
        let mid = (x1 + x2) / 2.0;
        let u = 1.0 - t;
        let x = u * u * u * x1 + 3.0 * u * u * t * mid + 3.0 * u * t * t * mid + t * t * t * x2;
        let y = y1 + (y2 - y1) * (3.0 * t * t - 2.0 * t * t * t);
        (x, y)
    } else {
        (x1 + (x2 - x1) * t, y1 + (y2 - y1) * t)
    }
}

/// Places every label where it overlaps no node and no label placed before it: each slides
/// along its own edge (callee end first, where edges into one node fan apart) and, when every
/// spot on the edge is taken, steps off it above and below. Edges are placed busiest first, so
/// the labels that matter most keep the best spots; the result is the same on every refresh.
pub fn place_labels(shapes: &mut [EdgeShape], nodes: &BTreeMap<String, (f64, f64)>) {
    let mut taken: Vec<(f64, f64, f64, f64)> = nodes
        .values()
        .map(|(x, y)| (*x - 2.0, *y - 2.0, x + NODE_W + 2.0, y + NODE_H + 2.0))
        .collect();
    let mut order: Vec<usize> = (0..shapes.len())
        .filter(|i| !shapes[*i].label.is_empty())
        .collect();
    order.sort_by(|a, b| {
        shapes[*b].width.total_cmp(&shapes[*a].width).then_with(|| {
            (&shapes[*a].from, &shapes[*a].to).cmp(&(&shapes[*b].from, &shapes[*b].to))
        })
    });
    const ALONG: [f64; 13] = [
        0.62, 0.5, 0.72, 0.4, 0.8, 0.3, 0.86, 0.22, 0.9, 0.15, 0.94, 0.1, 0.97,
    ];
    const OFF: [f64; 11] = [
        0.0, -14.0, 14.0, -28.0, 28.0, -42.0, 42.0, -56.0, 56.0, -70.0, 70.0,
    ];
    for i in order {
        let shape = &shapes[i];
        let mut best = None;
        'search: for dy in OFF {
            for t in ALONG {
                let (x, y) = along(shape.ends, shape.forward, t);
                let (x, y) = (x, y - 4.0 + dy);
                let b = label_box(&shape.label, x, y);
                let inside = b.0 >= 0.0 && b.2 <= WIDTH && b.1 >= 0.0 && b.3 <= HEIGHT;
                if inside && !taken.iter().any(|o| overlap(*o, b)) {
                    best = Some((x, y, b));
                    break 'search;
                }
            }
        }
        let shape = &mut shapes[i];
        // Nowhere free (a crowded map): the usual spot, as before.
        let (x, y, b) = best.unwrap_or_else(|| {
            let (x, y) = along(shape.ends, shape.forward, 0.62);
            (x, y - 4.0, label_box(&shape.label, x, y - 4.0))
        });
        shape.label_x = x;
        shape.label_y = y;
        taken.push(b);
    }
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
            place_labels(&mut all, at);
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
                        format!("{} edges in the last minute; labels: rate · failed (5xx, timeouts, refused; 4xx answers such as not found or declined are expected, in each edge's tooltip) · p95 (dashed, through the exchange: rate · lag · queued · dead letters)", edges.with(Vec::len))
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
                                    <title>{e.title.clone()}</title>
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
                rejected_rate: 0.2,
                p95_ms: Some(23.0),
            }],
        };
        let e = edge_shapes(&t);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].label, "12.3/s · 10.0% · p95 23 ms");
        assert_eq!(e[0].class, "bad");
        assert!(e[0].title.contains("20.0% answered 4xx"), "{}", e[0].title);
        assert!(e[0].d.starts_with('M'));
    }

    /// The shop's own graph: gateway calls seven services, checkout six, several of them the
    /// same ones, and orders publishes to the exchange: no label may cover another or a node.
    #[test]
    fn labels_never_overlap_each_other_or_a_node() {
        let calls = [
            ("gateway", "catalog"),
            ("gateway", "cart"),
            ("gateway", "checkout"),
            ("gateway", "inventory"),
            ("gateway", "reviews"),
            ("gateway", "recommendations"),
            ("gateway", "orders"),
            ("checkout", "cart"),
            ("checkout", "catalog"),
            ("checkout", "inventory"),
            ("checkout", "shipping"),
            ("checkout", "payment"),
            ("checkout", "orders"),
            ("recommendations", "catalog"),
            ("load", "gateway"),
        ];
        let mut names: Vec<&str> = calls.iter().flat_map(|(a, b)| [*a, *b]).collect();
        names.push("notifications");
        names.sort_unstable();
        names.dedup();
        let t = Topology {
            nodes: names
                .iter()
                .map(|n| Node {
                    name: (*n).into(),
                    ..Node::default()
                })
                .collect(),
            edges: calls
                .iter()
                .map(|(from, to)| Edge {
                    from: (*from).into(),
                    to: (*to).into(),
                    rps: 123.4,
                    error_rate: 0.133,
                    p95_ms: Some(48.75),
                    ..Edge::default()
                })
                .collect(),
        };
        use crate::types::QueueView;
        let m = Messaging {
            broker: Health::Up,
            queues: ["notifications", "shipping", "recommendations"]
                .map(|c| QueueView {
                    queue: format!("{c}.order-placed"),
                    exchange: "shop.events".into(),
                    producers: vec!["orders".into()],
                    consumer: c.into(),
                    depth: Some(0.0),
                    dead_letters: Some(0.0),
                    rate: 1.2,
                    lag_s: Some(0.1),
                    ..QueueView::default()
                })
                .to_vec(),
            ..Messaging::default()
        };
        let drawn = with_messaging(&t, &m);
        let at = layout(&drawn);
        let mut all = edge_shapes_at(&at, &t);
        all.extend(async_shapes(&at, &m));
        place_labels(&mut all, &at);
        let boxes: Vec<_> = all
            .iter()
            .filter(|e| !e.label.is_empty())
            .map(|e| (e, label_box(&e.label, e.label_x, e.label_y)))
            .collect();
        for (i, (a, ba)) in boxes.iter().enumerate() {
            for (b, bb) in &boxes[i + 1..] {
                assert!(
                    !overlap(*ba, *bb),
                    "{}->{} and {}->{} overlap",
                    a.from,
                    a.to,
                    b.from,
                    b.to
                );
            }
            for (n, (x, y)) in &at {
                assert!(
                    !overlap(*ba, (*x, *y, x + NODE_W, y + NODE_H)),
                    "{}->{} covers {n}",
                    a.from,
                    a.to
                );
            }
        }
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
