//! Where the service map puts its nodes: columns by call depth (callers left of callees, the
//! longest chain of calls decides), nodes spread evenly down each column, sorted by name so
//! the picture is the same on every refresh.

use std::collections::BTreeMap;

use crate::types::Topology;

pub const WIDTH: f64 = 1000.0;
pub const HEIGHT: f64 = 560.0;
pub const NODE_W: f64 = 150.0;
pub const NODE_H: f64 = 52.0;

/// Node name -> top-left corner in a `WIDTH` x `HEIGHT` view box.
pub fn layout(topology: &Topology) -> BTreeMap<String, (f64, f64)> {
    let mut depth: BTreeMap<&str, usize> = topology
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), 0))
        .collect();
    for e in &topology.edges {
        depth.entry(e.from.as_str()).or_insert(0);
        depth.entry(e.to.as_str()).or_insert(0);
    }
    // Longest path by relaxation; a cycle stops growing after one pass per node.
    for _ in 0..depth.len() {
        let mut changed = false;
        for e in &topology.edges {
            if e.from == e.to {
                continue;
            }
            let from = depth.get(e.from.as_str()).copied().unwrap_or(0);
            let to = depth.entry(e.to.as_str()).or_insert(0);
            if *to < from + 1 && from + 1 < 64 {
                *to = from + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let columns = depth.values().copied().max().map_or(1, |m| m + 1);
    let mut by_column: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (name, d) in &depth {
        by_column.entry(*d).or_default().push(name);
    }
    let col_gap = if columns > 1 {
        (WIDTH - NODE_W - 20.0) / (columns - 1) as f64
    } else {
        0.0
    };
    let mut out = BTreeMap::new();
    for (col, names) in by_column {
        let n = names.len() as f64;
        let step = HEIGHT / n;
        for (row, name) in names.into_iter().enumerate() {
            let x = if columns > 1 {
                10.0 + col as f64 * col_gap
            } else {
                (WIDTH - NODE_W) / 2.0
            };
            let y = step * row as f64 + (step - NODE_H) / 2.0;
            out.insert(name.to_owned(), (x, y.max(0.0)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Edge, Node};

    fn edge(from: &str, to: &str) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            ..Edge::default()
        }
    }

    #[test]
    fn callers_sit_left_of_callees() {
        let t = Topology {
            nodes: ["gateway", "checkout", "payment", "catalog"]
                .iter()
                .map(|n| Node {
                    name: (*n).into(),
                    ..Node::default()
                })
                .collect(),
            edges: vec![
                edge("gateway", "checkout"),
                edge("checkout", "payment"),
                edge("gateway", "catalog"),
                edge("checkout", "catalog"),
            ],
        };
        let at = layout(&t);
        assert!(at["gateway"].0 < at["checkout"].0);
        assert!(at["checkout"].0 < at["payment"].0);
        // The longest chain decides: catalog is called by checkout too.
        assert_eq!(at["catalog"].0, at["payment"].0);
        for (x, y) in at.values() {
            assert!(*x >= 0.0 && x + NODE_W <= WIDTH && *y >= 0.0 && y + NODE_H <= HEIGHT);
        }
    }

    #[test]
    fn a_cycle_does_not_hang() {
        let t = Topology {
            nodes: vec![],
            edges: vec![edge("a", "b"), edge("b", "a")],
        };
        assert_eq!(layout(&t).len(), 2);
    }
}
