//! The service map: every service as a node coloured by health (with icon and word), every
//! caller -> callee pair seen in the last minute of spans as an edge labelled with its rate,
//! error % and p95. Edges are SVG; nodes are links laid over them (focusable, readable text).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{Banners, EmptyState, HealthBadge};
use crate::format;
use crate::live::use_live;
use crate::map_layout::{HEIGHT, NODE_H, NODE_W, WIDTH, layout};
use crate::types::Topology;

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

pub fn edge_shapes(t: &Topology) -> Vec<EdgeShape> {
    let at = layout(t);
    t.edges
        .iter()
        .filter_map(|e| {
            let (fx, fy) = *at.get(&e.from)?;
            let (tx, ty) = *at.get(&e.to)?;
            let (x1, y1) = (fx + NODE_W, fy + NODE_H / 2.0);
            let (x2, y2) = (tx, ty + NODE_H / 2.0);
            // Back edges (callee left of caller) curve below instead of crossing the nodes.
            let d = if x2 > x1 {
                let mid = (x1 + x2) / 2.0;
                format!("M{x1:.1} {y1:.1} C{mid:.1} {y1:.1} {mid:.1} {y2:.1} {x2:.1} {y2:.1}")
            } else {
                let (x1, x2) = (fx + NODE_W / 2.0, tx + NODE_W / 2.0);
                let (y1, y2) = (fy + NODE_H, ty + NODE_H);
                let low = y1.max(y2) + 40.0;
                format!("M{x1:.1} {y1:.1} C{x1:.1} {low:.1} {x2:.1} {low:.1} {x2:.1} {y2:.1}")
            };
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
    let positions = Memo::new(move |_| topology.with(layout));
    let edges = Memo::new(move |_| topology.with(edge_shapes));
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
                        format!("{} calls between services in the last minute; labels: rate · errors · p95", edges.with(Vec::len))
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
                            topology.with(|t| t.nodes.iter().find(|x| x.name == n2).map(|x| x.health).unwrap_or_default())
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
                                <HealthBadge health />
                            </a>
                        }
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
}
