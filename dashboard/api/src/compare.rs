//! Two traces side by side (`/api/traces/compare?a=&b=`): their spans matched by place — the
//! same service and span name under matched parents, the n-th such sibling matching the n-th
//! — with each pair's durations, and the spans only one of them has.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::traces::{Span, TraceDetail, TraceSummary};

/// One trace's span in a row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Side {
    pub span_id: String,
    pub duration_ms: f64,
    /// When it started, after its trace's first span started.
    pub offset_ms: f64,
    /// It failed (a 4xx answer is not a failure).
    pub error: bool,
}

/// A matched pair of spans, or a span only one trace has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompareRow {
    /// Nesting under the roots (0: a root).
    pub depth: u32,
    pub service: String,
    pub name: String,
    #[serde(default)]
    pub a: Option<Side>,
    #[serde(default)]
    pub b: Option<Side>,
}

impl CompareRow {
    /// How much longer the span took in b than in a (negative: faster), when both have it.
    pub fn delta_ms(&self) -> Option<f64> {
        Some(self.b.as_ref()?.duration_ms - self.a.as_ref()?.duration_ms)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceComparison {
    pub a: TraceSummary,
    pub b: TraceSummary,
    /// In the order of trace a's waterfall, each span followed by its children; spans only b
    /// has come after their matched siblings.
    pub rows: Vec<CompareRow>,
    pub matched: u32,
    pub only_a: u32,
    pub only_b: u32,
}

/// The deepest nesting followed (deeper spans are listed flat at this depth).
const MAX_DEPTH: u32 = 64;

struct Tree<'a> {
    spans: &'a [Span],
    start: u64,
    /// Children by parent span id (roots under `None`), each list by start time.
    children: HashMap<Option<&'a str>, Vec<usize>>,
}

impl<'a> Tree<'a> {
    fn new(spans: &'a [Span]) -> Self {
        let ids: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
        let mut children: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
        for (i, s) in spans.iter().enumerate() {
            // A parent that is not held (or the span itself) makes it a root.
            let parent = s
                .parent_span_id
                .as_deref()
                .filter(|p| ids.contains(p) && *p != s.span_id);
            children.entry(parent).or_default().push(i);
        }
        for list in children.values_mut() {
            list.sort_by_key(|&i| (spans[i].start_unix_nano, i));
        }
        let start = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
        Self {
            spans,
            start,
            children,
        }
    }

    fn kids(&self, parent: Option<usize>) -> &[usize] {
        let key = parent.map(|i| self.spans[i].span_id.as_str());
        self.children.get(&key).map_or(&[], Vec::as_slice)
    }

    fn side(&self, i: usize) -> Side {
        let s = &self.spans[i];
        Side {
            span_id: s.span_id.clone(),
            duration_ms: s.duration_ms,
            offset_ms: s.start_unix_nano.saturating_sub(self.start) as f64 / 1e6,
            error: s.failed(),
        }
    }
}

struct Walk<'a> {
    a: Tree<'a>,
    b: Tree<'a>,
    seen_a: HashSet<usize>,
    seen_b: HashSet<usize>,
    out: TraceComparison,
}

impl Walk<'_> {
    fn row(&mut self, depth: u32, a: Option<usize>, b: Option<usize>) {
        let span = a.map(|i| &self.a.spans[i]).or(b.map(|i| &self.b.spans[i]));
        let Some(span) = span else { return };
        let row = CompareRow {
            depth,
            service: span.service.clone(),
            name: span.name.clone(),
            a: a.map(|i| self.a.side(i)),
            b: b.map(|i| self.b.side(i)),
        };
        match (a, b) {
            (Some(_), Some(_)) => self.out.matched += 1,
            (Some(_), None) => self.out.only_a += 1,
            _ => self.out.only_b += 1,
        }
        self.out.rows.push(row);
    }

    /// Matches the children of `a` (in trace a) and `b` (in trace b), rows in a's order.
    fn level(&mut self, depth: u32, a: Option<Option<usize>>, b: Option<Option<usize>>) {
        let kids_a: Vec<usize> = a.map_or(Vec::new(), |p| self.a.kids(p).to_vec());
        let kids_b: Vec<usize> = b.map_or(Vec::new(), |p| self.b.kids(p).to_vec());
        // The n-th b child of each (service, name).
        let mut b_by_key: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for &j in &kids_b {
            let s = &self.b.spans[j];
            b_by_key
                .entry((s.service.as_str(), s.name.as_str()))
                .or_default()
                .push(j);
        }
        let mut taken: HashMap<(String, String), usize> = HashMap::new();
        let mut pairs: Vec<(Option<usize>, Option<usize>)> = Vec::new();
        let mut matched_b: HashSet<usize> = HashSet::new();
        for &i in &kids_a {
            let s = &self.a.spans[i];
            let n = taken
                .entry((s.service.clone(), s.name.clone()))
                .or_insert(0);
            let j = b_by_key
                .get(&(s.service.as_str(), s.name.as_str()))
                .and_then(|list| list.get(*n))
                .copied();
            *n += 1;
            if let Some(j) = j {
                matched_b.insert(j);
            }
            pairs.push((Some(i), j));
        }
        pairs.extend(
            kids_b
                .iter()
                .filter(|j| !matched_b.contains(j))
                .map(|&j| (None, Some(j))),
        );
        let next = (depth + 1).min(MAX_DEPTH);
        for (i, j) in pairs {
            // A span met twice (a malformed parent chain) is listed once.
            let fresh_a = i.is_none_or(|i| self.seen_a.insert(i));
            let fresh_b = j.is_none_or(|j| self.seen_b.insert(j));
            if !(fresh_a && fresh_b) {
                continue;
            }
            self.row(depth, i, j);
            if depth < MAX_DEPTH {
                self.level(next, i.map(Some), j.map(Some));
            }
        }
    }
}

/// Trace a and trace b side by side.
pub fn compare(a: &TraceDetail, b: &TraceDetail) -> TraceComparison {
    let mut walk = Walk {
        a: Tree::new(&a.spans),
        b: Tree::new(&b.spans),
        seen_a: HashSet::new(),
        seen_b: HashSet::new(),
        out: TraceComparison {
            a: a.summary.clone(),
            b: b.summary.clone(),
            ..TraceComparison::default()
        },
    };
    walk.level(0, Some(None), Some(None));
    // Spans no root reaches (a parent chain that loops) are still listed.
    for i in 0..a.spans.len() {
        if !walk.seen_a.contains(&i) {
            walk.seen_a.insert(i);
            walk.row(0, Some(i), None);
        }
    }
    for j in 0..b.spans.len() {
        if !walk.seen_b.contains(&j) {
            walk.seen_b.insert(j);
            walk.row(0, None, Some(j));
        }
    }
    walk.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(
        id: &str,
        parent: Option<&str>,
        service: &str,
        name: &str,
        start: u64,
        ms: f64,
    ) -> Span {
        Span {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_span_id: parent.map(str::to_owned),
            service: service.into(),
            name: name.into(),
            start_unix_nano: start * 1_000_000,
            end_unix_nano: start * 1_000_000 + (ms * 1e6) as u64,
            duration_ms: ms,
            ..Span::default()
        }
    }

    fn trace(spans: Vec<Span>) -> TraceDetail {
        TraceDetail {
            spans,
            ..TraceDetail::default()
        }
    }

    #[test]
    fn spans_match_by_place_and_the_rest_is_listed_on_its_side() {
        let a = trace(vec![
            span("a1", None, "gateway", "GET /product", 100, 20.0),
            span("a2", Some("a1"), "catalog", "GET /products/{id}", 101, 5.0),
            span("a3", Some("a1"), "reviews", "GET /reviews", 102, 3.0),
            span("a4", Some("a1"), "reviews", "GET /reviews", 106, 4.0),
            span("a5", Some("a2"), "catalog", "db query", 102, 1.0),
        ]);
        let b = trace(vec![
            span("b1", None, "gateway", "GET /product", 500, 80.0),
            span("b2", Some("b1"), "catalog", "GET /products/{id}", 501, 60.0),
            span("b3", Some("b1"), "reviews", "GET /reviews", 502, 3.5),
            span("b9", Some("b1"), "pricing", "GET /price", 503, 2.0),
        ]);
        let c = compare(&a, &b);
        let names: Vec<(u32, &str, bool, bool)> = c
            .rows
            .iter()
            .map(|r| (r.depth, r.name.as_str(), r.a.is_some(), r.b.is_some()))
            .collect();
        assert_eq!(
            names,
            [
                (0, "GET /product", true, true),
                (1, "GET /products/{id}", true, true),
                (2, "db query", true, false),
                (1, "GET /reviews", true, true),
                (1, "GET /reviews", true, false),
                (1, "GET /price", false, true),
            ]
        );
        assert_eq!((c.matched, c.only_a, c.only_b), (3, 2, 1));
        assert_eq!(c.rows[1].delta_ms(), Some(55.0));
        assert_eq!(c.rows[2].delta_ms(), None);
        let b2 = c.rows[1].b.as_ref().expect("matched");
        assert_eq!((b2.span_id.as_str(), b2.offset_ms), ("b2", 1.0));
    }

    #[test]
    fn orphans_are_roots_and_loops_are_still_listed_once() {
        let a = trace(vec![
            span("x", Some("missing"), "orders", "POST /orders", 0, 2.0),
            span("p", Some("q"), "cart", "loop", 1, 1.0),
            span("q", Some("p"), "cart", "loop", 2, 1.0),
        ]);
        let c = compare(&a, &trace(vec![]));
        assert_eq!(c.rows.len(), 3);
        assert_eq!(c.only_a, 3);
        assert_eq!(c.rows[0].name, "POST /orders");
        // The looping pair is reached from no root on either side: listed, not matched.
        let same = compare(&a, &a);
        assert_eq!((same.matched, same.only_a, same.only_b), (1, 2, 2));
    }
}
