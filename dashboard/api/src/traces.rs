//! Traces and logs as the API answers them (`/api/traces`, `/api/traces/{id}`, `/api/logs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Attribute values as JSON scalars (a string, an integer, a float or a boolean; arrays and
/// maps arrive as their text).
pub type Attributes = BTreeMap<String, serde_json::Value>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceSummary {
    pub trace_id: String,
    #[serde(default)]
    pub root_service: String,
    #[serde(default)]
    pub root_name: String,
    #[serde(default)]
    pub start_unix_nano: u64,
    #[serde(default)]
    pub duration_ms: f64,
    #[serde(default)]
    pub span_count: usize,
    #[serde(default)]
    pub error: bool,
    /// A call in it was answered with a 4xx (a decline, a lookup of nothing): an expected
    /// outcome, not a failure.
    #[serde(default)]
    pub rejected: bool,
    #[serde(default)]
    pub services: Vec<String>,
}

/// OTLP's span kinds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl Span {
    /// A failure: an error status that is not a 4xx answer.
    pub fn failed(&self) -> bool {
        self.error && !self.rejected
    }
}

impl SpanKind {
    /// OTLP's numbering (`Span.kind`); anything else is unspecified.
    pub fn from_proto(kind: i32) -> Self {
        match kind {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpanEvent {
    pub time_unix_nano: u64,
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: Attributes,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    #[serde(default)]
    pub parent_span_id: Option<String>,
    pub service: String,
    pub name: String,
    #[serde(default)]
    pub kind: SpanKind,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    #[serde(default)]
    pub duration_ms: f64,
    #[serde(default)]
    pub error: bool,
    #[serde(default)]
    pub status_message: Option<String>,
    /// Its call was answered with a 4xx (a decline, a lookup of nothing): an expected outcome,
    /// shown apart from failures even where the span's status says error (the conventions
    /// mark a client span ERROR for every 4xx).
    #[serde(default)]
    pub rejected: bool,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: Attributes,
    #[serde(default)]
    pub events: Vec<SpanEvent>,
    /// Spans this one links to (a consumer's `process` span: the producer's `send` span).
    #[serde(default)]
    pub links: Vec<SpanLink>,
    /// Where its duration falls among the same operation's (service and span name) over the
    /// last minutes; absent when too few were held to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile: Option<SpanPercentile>,
}

/// A span's duration against the same operation's recent ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpanPercentile {
    /// 0-100: the share of the operation's spans that were faster (ties count half).
    pub rank: f64,
    /// How many spans of the operation it was compared with.
    pub samples: u32,
    /// The window they ended in, seconds before the trace's end.
    pub window_s: u32,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl SpanPercentile {
    /// The percentile rank of `value` among `sorted` (ascending): the share below it, ties
    /// counting half, in percent.
    pub fn rank_in(sorted: &[f64], value: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let below = sorted.partition_point(|v| *v < value);
        let through = sorted.partition_point(|v| *v <= value);
        let ties = through - below;
        100.0 * (below as f64 + ties as f64 / 2.0) / sorted.len() as f64
    }

    /// The `q` quantile (0-1) of `sorted` (ascending), nearest rank.
    pub fn quantile(sorted: &[f64], q: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[i]
    }

    /// The badge: "p97" (whole percent, "p<1" and "p>99" at the ends).
    pub fn label(&self) -> String {
        if self.rank < 1.0 {
            "p<1".to_owned()
        } else if self.rank > 99.0 {
            "p>99".to_owned()
        } else {
            format!("p{}", self.rank.round() as u32)
        }
    }
}

/// A span link: the span it points at, in its trace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpanLink {
    pub trace_id: String,
    pub span_id: String,
}

/// A span of another trace that links into this one (followed backwards).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkedFrom {
    pub trace_id: String,
    pub span_id: String,
    pub service: String,
    pub name: String,
    /// The span of this trace it links to.
    pub to_span_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogRecord {
    /// Arrival number in the dashboard's store: `/api/logs?after=` this returns only what
    /// arrived later.
    #[serde(default)]
    pub seq: u64,
    pub time_unix_nano: u64,
    #[serde(default)]
    pub severity_number: i32,
    #[serde(default)]
    pub severity_text: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default)]
    pub span_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: Attributes,
}

/// `/api/traces/{id}`: the summary, every held span, and the logs that carry the trace id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceDetail {
    pub summary: TraceSummary,
    #[serde(default)]
    pub spans: Vec<Span>,
    #[serde(default)]
    pub logs: Vec<LogRecord>,
    /// Spans of other traces that link to spans of this one (e.g. each consumer's processing
    /// of the events this checkout published).
    #[serde(default)]
    pub linked_from: Vec<LinkedFrom>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_lowercase_words() {
        assert_eq!(
            serde_json::to_value(SpanKind::from_proto(2)).expect("json"),
            "server"
        );
        assert_eq!(SpanKind::from_proto(9), SpanKind::Unspecified);
        let k: SpanKind = serde_json::from_str(r#""producer""#).expect("reads");
        assert_eq!(k, SpanKind::Producer);
        assert_eq!(SpanKind::Consumer.word(), "consumer");
    }

    #[test]
    fn percentile_ranks_count_ties_half() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(SpanPercentile::rank_in(&sorted, 0.5), 0.0);
        assert_eq!(SpanPercentile::rank_in(&sorted, 50.0), 49.5);
        assert_eq!(SpanPercentile::rank_in(&sorted, 1000.0), 100.0);
        assert_eq!(SpanPercentile::rank_in(&[2.0, 2.0], 2.0), 50.0);
        assert_eq!(SpanPercentile::rank_in(&[], 2.0), 0.0);
        assert_eq!(SpanPercentile::quantile(&sorted, 0.5), 50.0);
        assert_eq!(SpanPercentile::quantile(&sorted, 0.99), 99.0);
        assert_eq!(SpanPercentile::quantile(&sorted, 0.0), 1.0);
        let p = |rank| SpanPercentile {
            rank,
            ..SpanPercentile::default()
        };
        assert_eq!(p(97.4).label(), "p97");
        assert_eq!(p(99.6).label(), "p>99");
        assert_eq!(p(0.2).label(), "p<1");
    }

    #[test]
    fn the_search_pairs_carry_every_filter() {
        let q = TraceSearch {
            service: Some("catalog".into()),
            route: Some("/products/{id}".into()),
            from_ms: Some("1000".into()),
            to_ms: Some("2000".into()),
            ..TraceSearch::default()
        };
        let given: Vec<_> = q
            .pairs()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        assert_eq!(
            given,
            [
                ("service", "catalog"),
                ("route", "/products/{id}"),
                ("from_ms", "1000"),
                ("to_ms", "2000")
            ]
        );
    }
}

/// `GET /api/traces`'s parameters as sent (each optional; the server checks them and answers
/// 400 naming the bad one): the UI builds this, the server reads it from the query string or,
/// rendering a page, takes it as is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceSearch {
    /// Only traces this service took part in.
    pub service: Option<String>,
    /// `error` (a failure: a 5xx, a timeout, a refused call), `rejected` (a call answered
    /// with a 4xx, no failure) or `ok` (neither).
    pub status: Option<String>,
    /// Only traces at least this long (a number, 0 or more).
    pub min_duration_ms: Option<String>,
    /// Only traces with a span (of `service`, when given) serving this route (`http.route`).
    #[serde(default)]
    pub route: Option<String>,
    /// Only traces that were running at or after this time (unix ms): a chart point's second.
    #[serde(default)]
    pub from_ms: Option<String>,
    /// Only traces that had started by this time (unix ms).
    #[serde(default)]
    pub to_ms: Option<String>,
    /// How many, newest first (1-1000, 20 by default).
    pub limit: Option<String>,
}

impl TraceSearch {
    /// The parameters in query-string order (empty ones included; the caller skips them).
    pub fn pairs(&self) -> [(&'static str, &str); 7] {
        [
            ("service", self.service.as_deref().unwrap_or("")),
            ("status", self.status.as_deref().unwrap_or("")),
            (
                "min_duration_ms",
                self.min_duration_ms.as_deref().unwrap_or(""),
            ),
            ("route", self.route.as_deref().unwrap_or("")),
            ("from_ms", self.from_ms.as_deref().unwrap_or("")),
            ("to_ms", self.to_ms.as_deref().unwrap_or("")),
            ("limit", self.limit.as_deref().unwrap_or("")),
        ]
    }
}

/// `GET /api/logs`'s parameters as sent (see [`TraceSearch`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSearch {
    /// Only this service's records.
    pub service: Option<String>,
    /// At least this severity: trace, debug, info, warn, error or fatal.
    pub severity: Option<String>,
    /// Only this trace's records (32 hex digits).
    pub trace_id: Option<String>,
    /// Text the body contains (case-insensitive, at most 200 characters).
    pub q: Option<String>,
    /// How many, newest first (1-1000, 100 by default).
    pub limit: Option<String>,
    /// Only records after this `seq` (a tail's refresh).
    pub after: Option<String>,
}

impl LogSearch {
    /// The parameters in query-string order (empty ones included; the caller skips them).
    pub fn pairs(&self) -> [(&'static str, &str); 6] {
        [
            ("service", self.service.as_deref().unwrap_or("")),
            ("severity", self.severity.as_deref().unwrap_or("")),
            ("q", self.q.as_deref().unwrap_or("")),
            ("trace_id", self.trace_id.as_deref().unwrap_or("")),
            ("limit", self.limit.as_deref().unwrap_or("")),
            ("after", self.after.as_deref().unwrap_or("")),
        ]
    }
}
