//! A trace as a waterfall: spans in tree order with their depth, each bar's offset and width as a
//! share of the trace, and the critical path — the chain of spans that the trace's end waited on.

use std::collections::{HashMap, HashSet};

use crate::types::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Index into the trace's spans.
    pub index: usize,
    pub depth: usize,
    /// Offset from the trace start, in percent of the trace duration.
    pub left: f64,
    /// Width in percent (at least a sliver, so instant spans stay visible).
    pub width: f64,
    pub critical: bool,
}

/// Depth-first, children by start time; spans whose parent is not held are roots.
pub fn rows(spans: &[Span]) -> Vec<Row> {
    if spans.is_empty() {
        return Vec::new();
    }
    let ids: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match s.parent_span_id.as_deref().filter(|p| ids.contains(p)) {
            Some(parent) if parent != s.span_id => children.entry(parent).or_default().push(i),
            _ => roots.push(i),
        }
    }
    let by_start = |v: &mut Vec<usize>| v.sort_by_key(|&i| (spans[i].start_unix_nano, i));
    by_start(&mut roots);
    for v in children.values_mut() {
        by_start(v);
    }
    let start = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
    let end = spans.iter().map(|s| s.end_unix_nano).max().unwrap_or(start);
    let total = end.saturating_sub(start).max(1) as f64;
    let critical = critical_path(spans, &roots, &children);

    let mut out = Vec::with_capacity(spans.len());
    let mut seen = HashSet::new();
    // An explicit stack: a deep or cyclic trace cannot overflow the call stack.
    let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&i| (i, 0)).collect();
    while let Some((i, depth)) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        let s = &spans[i];
        let left = s.start_unix_nano.saturating_sub(start) as f64 / total * 100.0;
        let width = (s.end_unix_nano.saturating_sub(s.start_unix_nano) as f64 / total * 100.0)
            .max(0.3)
            .min(100.0 - left.min(99.7));
        out.push(Row {
            index: i,
            depth,
            left,
            width,
            critical: critical.contains(&i),
        });
        if let Some(kids) = children.get(s.span_id.as_str()) {
            for &k in kids.iter().rev() {
                stack.push((k, depth + 1));
            }
        }
    }
    // Spans only reachable through a cycle (malformed input) still get a row.
    for i in 0..spans.len() {
        if !seen.contains(&i) {
            out.push(Row {
                index: i,
                depth: 0,
                left: 0.0,
                width: 0.3,
                critical: false,
            });
        }
    }
    out
}

/// From the root that ends last, walk back from its end: the child that finished last before
/// the cursor is what the parent was waiting for; recurse into it, move the cursor to its
/// start, and repeat with the children that finished before that.
fn critical_path(
    spans: &[Span],
    roots: &[usize],
    children: &HashMap<&str, Vec<usize>>,
) -> HashSet<usize> {
    let mut path = HashSet::new();
    let Some(&root) = roots.iter().max_by_key(|&&i| spans[i].end_unix_nano) else {
        return path;
    };
    let mut work = vec![root];
    while let Some(i) = work.pop() {
        if !path.insert(i) {
            continue;
        }
        let parent = &spans[i];
        let Some(kids) = children.get(parent.span_id.as_str()) else {
            continue;
        };
        let mut by_end = kids.clone();
        by_end.sort_by_key(|&k| std::cmp::Reverse(spans[k].end_unix_nano));
        let mut cursor = parent.end_unix_nano;
        for k in by_end {
            let kid = &spans[k];
            if kid.end_unix_nano <= cursor {
                work.push(k);
                cursor = kid.start_unix_nano;
                if cursor <= parent.start_unix_nano {
                    break;
                }
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, start: u64, end: u64) -> Span {
        Span {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_span_id: parent.map(str::to_owned),
            service: "s".into(),
            name: id.into(),
            start_unix_nano: start,
            end_unix_nano: end,
            ..Span::default()
        }
    }

    #[test]
    fn rows_are_depth_first_with_children_by_start() {
        let spans = vec![
            span("c2", Some("root"), 50, 90),
            span("root", None, 0, 100),
            span("c1", Some("root"), 10, 40),
            span("g1", Some("c1"), 15, 30),
        ];
        let rows = rows(&spans);
        let order: Vec<&str> = rows.iter().map(|r| spans[r.index].name.as_str()).collect();
        assert_eq!(order, ["root", "c1", "g1", "c2"]);
        let depths: Vec<usize> = rows.iter().map(|r| r.depth).collect();
        assert_eq!(depths, [0, 1, 2, 1]);
        assert!((rows[3].left - 50.0).abs() < 1e-9);
        assert!((rows[3].width - 40.0).abs() < 1e-9);
    }

    #[test]
    fn the_critical_path_follows_what_the_end_waited_for() {
        // root waits for the slow call (c2); c1 overlaps c2 and is not on the path; c0 ran
        // before c2 started, so the root waited for it too.
        let spans = vec![
            span("root", None, 0, 100),
            span("c0", Some("root"), 0, 20),
            span("c1", Some("root"), 25, 60),
            span("c2", Some("root"), 22, 95),
            span("g", Some("c2"), 30, 90),
        ];
        let rows = rows(&spans);
        let critical: HashSet<&str> = rows
            .iter()
            .filter(|r| r.critical)
            .map(|r| spans[r.index].name.as_str())
            .collect();
        assert_eq!(critical, HashSet::from(["root", "c2", "g", "c0"]));
    }

    #[test]
    fn orphans_and_cycles_still_get_rows() {
        let spans = vec![
            span("a", Some("b"), 0, 10),
            span("b", Some("a"), 0, 10),
            span("lost", Some("missing"), 5, 6),
        ];
        let rows = rows(&spans);
        assert_eq!(rows.len(), 3);
        assert_eq!(spans[rows[0].index].name, "lost");
        assert!(rows.is_empty() || rows.iter().all(|r| r.width > 0.0));
    }
}
