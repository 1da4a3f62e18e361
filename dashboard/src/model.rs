//! What the store keeps: compact, owned, bounded copies of what OTLP delivered.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;

pub type TraceId = [u8; 16];
pub type SpanId = [u8; 8];

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Parses a lower- or upper-case hex trace id.
pub fn parse_trace_id(raw: &str) -> Option<TraceId> {
    let mut out = [0u8; 16];
    if raw.len() != 32 {
        return None;
    }
    for (i, chunk) in raw.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// An attribute value; arrays and maps are kept as their JSON text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AttrValue {
    Str(Arc<str>),
    Int(i64),
    Double(f64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attr {
    pub key: Arc<str>,
    pub value: AttrValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpanEvent {
    pub time_unix_nano: u64,
    pub name: Arc<str>,
    pub attributes: Box<[Attr]>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredSpan {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub service: Arc<str>,
    pub name: Arc<str>,
    pub kind: SpanKind,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub error: bool,
    pub status_message: Option<Box<str>>,
    pub attributes: Box<[Attr]>,
    pub events: Box<[SpanEvent]>,
}

impl StoredSpan {
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes
            .iter()
            .find(|a| &*a.key == key)
            .map(|a| &a.value)
    }

    pub fn attr_str(&self, key: &str) -> Option<&str> {
        match self.attr(key)? {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredLog {
    pub time_unix_nano: u64,
    /// OTLP severity number (1-24; 0 unspecified).
    pub severity_number: i32,
    pub severity_text: Arc<str>,
    pub body: Box<str>,
    pub service: Arc<str>,
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    pub attributes: Box<[Attr]>,
}

/// A metric data point received over OTLP (`/v1/metrics`): kept for counting and the latest
/// values; RED comes from the Prometheus scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub service: Arc<str>,
    pub name: Arc<str>,
    pub time_unix_nano: u64,
    pub value: f64,
}

/// Deduplicates the strings that repeat across items (service names, span names, attribute
/// keys, short values like `GET` or a route). Bounded: past `capacity` entries new strings are
/// allocated without being remembered, so a high-cardinality flood cannot grow it.
#[derive(Debug)]
pub struct Interner {
    set: HashSet<Arc<str>>,
    capacity: usize,
}

impl Interner {
    pub fn new(capacity: usize) -> Self {
        Self {
            set: HashSet::new(),
            capacity,
        }
    }

    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(found) = self.set.get(s) {
            return found.clone();
        }
        let arc: Arc<str> = Arc::from(s);
        if self.set.len() < self.capacity {
            self.set.insert(arc.clone());
        }
        arc
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_round_trip_through_hex() {
        let id: TraceId = [0xab; 16];
        assert_eq!(parse_trace_id(&hex(&id)), Some(id));
        assert_eq!(parse_trace_id("ABABABABABABABABABABABABABABABAB"), Some(id));
        assert_eq!(parse_trace_id("xyz"), None);
        assert_eq!(parse_trace_id(&"g".repeat(32)), None);
    }

    #[test]
    fn the_interner_shares_and_stops_growing_at_capacity() {
        let mut i = Interner::new(2);
        let a = i.get("GET");
        let b = i.get("GET");
        assert!(Arc::ptr_eq(&a, &b));
        i.get("POST");
        i.get("PUT");
        assert_eq!(i.len(), 2);
    }
}
