//! What the store keeps: compact, owned, bounded copies of what OTLP delivered.

use std::collections::HashSet;

use rustc_hash::FxHashMap;
use std::sync::{Arc, LazyLock, RwLock};

pub use crate::names::Name;

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

/// An attribute value; arrays and maps are kept as their debug text.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(Arc<str>),
    Int(i64),
    Double(f64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    pub key: Arc<str>,
    pub value: AttrValue,
}

/// The process-wide table of repeated attribute strings (keys and short values), so that an
/// attribute costs a few bytes in [`Attrs`] instead of two fat pointers. Append-only (an id in
/// a stored blob stays valid forever), so it must only take strings that repeat: keys, and
/// values of keys with few distinct values (`GET`, a route, a status). A key's values stop
/// being taken after [`VALUES_PER_KEY`] distinct ones: high-cardinality values (cart ids in
/// `url.path`, checkout ids) are stored inline in the blob instead, so they can never fill
/// the table. Once full, every new string is stored inline too; nothing is ever lost.
#[derive(Debug)]
struct StringTable {
    ids: FxHashMap<Arc<str>, u32>,
    strings: Vec<Arc<str>>,
    /// Distinct values taken so far under each key id.
    values_per_key: FxHashMap<u32, u32>,
}

const STRING_TABLE_CAPACITY: usize = 100_000;
/// Strings longer than this are never put in the table (they are rarely repeated).
const MAX_TABLE_STRING: usize = 64;
/// Distinct values a key may put in the table; the rest of its values are stored inline.
const VALUES_PER_KEY: u32 = 1024;

static STRINGS: LazyLock<RwLock<StringTable>> = LazyLock::new(|| {
    RwLock::new(StringTable {
        ids: FxHashMap::default(),
        strings: Vec::new(),
        values_per_key: FxHashMap::default(),
    })
});

thread_local! {
    /// Ids this thread has already looked up: ids never change once given, so a local copy
    /// spares the shared lock and the large table's cache misses on the ingest path.
    static LOCAL_IDS: std::cell::RefCell<FxHashMap<Box<str>, u32>> = std::cell::RefCell::new(FxHashMap::default());
}

/// Entries a thread caches before starting over (bounds the copy under high cardinality).
const LOCAL_IDS_CAPACITY: usize = 16_384;

/// What a string is, which decides whether the table may take it: an attribute key, or a
/// value of the key with this id (`None`: a key the table did not take, so its values are
/// not taken either).
#[derive(Debug, Clone, Copy)]
enum Admit {
    Key,
    ValueOf(Option<u32>),
}

fn string_id(s: &str, admit: Admit) -> Option<u32> {
    if s.len() > MAX_TABLE_STRING {
        return None;
    }
    if let Some(id) = LOCAL_IDS.with(|c| c.borrow().get(s).copied()) {
        return Some(id);
    }
    let id = shared_string_id(s, admit)?;
    LOCAL_IDS.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= LOCAL_IDS_CAPACITY {
            cache.clear();
        }
        cache.insert(s.into(), id);
    });
    Some(id)
}

fn shared_string_id(s: &str, admit: Admit) -> Option<u32> {
    let key_is_full = |table: &StringTable, key: u32| {
        table.values_per_key.get(&key).copied().unwrap_or(0) >= VALUES_PER_KEY
    };
    {
        let table = STRINGS.read().ok()?;
        if let Some(id) = table.ids.get(s) {
            return Some(*id);
        }
        // The common refusal (a high-cardinality value) is decided under the read lock.
        match admit {
            Admit::ValueOf(None) => return None,
            Admit::ValueOf(Some(key)) if key_is_full(&table, key) => return None,
            _ if table.strings.len() >= STRING_TABLE_CAPACITY => return None,
            _ => {}
        }
    }
    let mut table = STRINGS.write().ok()?;
    if let Some(id) = table.ids.get(s) {
        return Some(*id);
    }
    if table.strings.len() >= STRING_TABLE_CAPACITY {
        return None;
    }
    if let Admit::ValueOf(key) = admit {
        let key = key?;
        if key_is_full(&table, key) {
            return None;
        }
        *table.values_per_key.entry(key).or_default() += 1;
    }
    let id = u32::try_from(table.strings.len()).ok()?;
    let arc: Arc<str> = Arc::from(s);
    table.strings.push(arc.clone());
    table.ids.insert(arc, id);
    Some(id)
}

/// Strings in the attribute table (for tests and benchmarks).
pub fn attribute_table_len() -> usize {
    STRINGS.read().map(|t| t.strings.len()).unwrap_or(0)
}

// Blob tags.
const STR_ID: u8 = 0;
const STR_INLINE: u8 = 1;
const INT: u8 = 2;
const DOUBLE: u8 = 3;
const TRUE: u8 = 4;
const FALSE: u8 = 5;

/// Attributes encoded into one small allocation: per attribute a key and a value, each a tag
/// byte followed by a string-table id or an integer as a LEB128 varint (1-3 bytes for the usual
/// ids and status codes), an inline string (varint length + bytes) or an 8-byte double.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs(Box<[u8]>);

#[derive(Debug, Default)]
pub struct AttrsBuilder(Vec<u8>);

impl AttrsBuilder {
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n * 10))
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    /// Writes `s` as a table id when the table takes it, inline otherwise; returns the id.
    fn string(&mut self, s: &str, admit: Admit) -> Option<u32> {
        let id = string_id(s, admit);
        match id {
            Some(id) => {
                self.0.push(STR_ID);
                self.varint(u64::from(id));
            }
            None => {
                self.0.push(STR_INLINE);
                self.varint(s.len() as u64);
                self.0.extend_from_slice(s.as_bytes());
            }
        }
        id
    }

    fn key(&mut self, key: &str) -> Option<u32> {
        self.string(key, Admit::Key)
    }

    pub fn push_str(&mut self, key: &str, value: &str) {
        let key = self.key(key);
        self.string(value, Admit::ValueOf(key));
    }

    pub fn push_int(&mut self, key: &str, value: i64) {
        self.key(key);
        self.0.push(INT);
        // Zigzag, so small negative numbers stay short too.
        self.varint(((value << 1) ^ (value >> 63)) as u64);
    }

    pub fn push_double(&mut self, key: &str, value: f64) {
        self.key(key);
        self.0.push(DOUBLE);
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    pub fn push_bool(&mut self, key: &str, value: bool) {
        self.key(key);
        self.0.push(if value { TRUE } else { FALSE });
    }

    pub fn build(self) -> Attrs {
        Attrs(self.0.into_boxed_slice())
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    table: &'a StringTable,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.bytes.split_first_chunk::<N>()?;
        self.bytes = rest;
        Some(*head)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let [b] = self.take::<1>()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn value(&mut self) -> Option<AttrValue> {
        let [tag] = self.take::<1>()?;
        Some(match tag {
            STR_ID => AttrValue::Str(
                self.table
                    .strings
                    .get(usize::try_from(self.varint()?).ok()?)?
                    .clone(),
            ),
            STR_INLINE => {
                let len = usize::try_from(self.varint()?).ok()?;
                let (s, rest) = self.bytes.split_at_checked(len)?;
                self.bytes = rest;
                AttrValue::Str(Arc::from(String::from_utf8_lossy(s).as_ref()))
            }
            INT => {
                let z = self.varint()?;
                AttrValue::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            DOUBLE => AttrValue::Double(f64::from_le_bytes(self.take()?)),
            TRUE => AttrValue::Bool(true),
            FALSE => AttrValue::Bool(false),
            _ => return None,
        })
    }
}

impl Attrs {
    /// Decodes every attribute.
    pub fn decode(&self) -> Vec<Attr> {
        let Ok(table) = STRINGS.read() else {
            return Vec::new();
        };
        let mut r = Reader {
            bytes: &self.0,
            table: &table,
        };
        let mut out = Vec::new();
        while !r.bytes.is_empty() {
            let (Some(AttrValue::Str(key)), Some(value)) = (r.value(), r.value()) else {
                break;
            };
            out.push(Attr { key, value });
        }
        out
    }

    /// One attribute's value.
    pub fn get(&self, key: &str) -> Option<AttrValue> {
        self.decode()
            .into_iter()
            .find(|a| &*a.key == key)
            .map(|a| a.value)
    }

    /// Bytes held (for memory accounting in tests and benchmarks).
    pub fn encoded_len(&self) -> usize {
        self.0.len()
    }
}

/// OTLP's span kinds, as the API names them.
pub use dashboard_api::SpanKind;

#[derive(Debug, Clone, PartialEq)]
pub struct SpanEvent {
    pub time_unix_nano: u64,
    pub name: Arc<str>,
    pub attributes: Attrs,
}

/// The rarely present parts of a span, boxed so that most spans pay one pointer for them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpanExtra {
    pub status_message: Option<Box<str>>,
    pub events: Vec<SpanEvent>,
    /// Span links (a consumer's `process` span links to the producer's `send` span).
    pub links: Vec<SpanLink>,
}

/// A link to a span of another (or the same) trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanLink {
    pub trace_id: TraceId,
    pub span_id: SpanId,
}

/// A span with its service and span name as `N`: ids in the span store's name table once
/// stored ([`StoredSpan`]), text borrowed from the request on the way in ([`ReceivedSpan`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Span<N> {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub service: N,
    pub name: N,
    pub kind: SpanKind,
    pub error: bool,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub attributes: Attrs,
    pub extra: Option<Box<SpanExtra>>,
}

/// A held span: its names are ids in the span store's [`crate::names::NameTable`].
pub type StoredSpan = Span<Name>;

/// A converted span on its way into the store, its names still in the request.
pub type ReceivedSpan<'a> = Span<&'a str>;

impl<N> Span<N> {
    /// The same span with its names replaced.
    pub fn with_names<M>(self, service: M, name: M) -> Span<M> {
        Span {
            trace_id: self.trace_id,
            span_id: self.span_id,
            parent_span_id: self.parent_span_id,
            service,
            name,
            kind: self.kind,
            error: self.error,
            start_unix_nano: self.start_unix_nano,
            end_unix_nano: self.end_unix_nano,
            attributes: self.attributes,
            extra: self.extra,
        }
    }

    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    /// Bytes the span owns on the heap (attributes, status message, events), for the store's
    /// byte budget.
    pub fn heap_bytes(&self) -> usize {
        self.attributes.encoded_len()
            + self.extra.as_ref().map_or(0, |extra| {
                std::mem::size_of::<SpanExtra>()
                    + extra.status_message.as_ref().map_or(0, |m| m.len())
                    + extra.events.capacity() * std::mem::size_of::<SpanEvent>()
                    + extra.links.capacity() * std::mem::size_of::<SpanLink>()
                    + extra
                        .events
                        .iter()
                        .map(|e| e.name.len() + e.attributes.encoded_len())
                        .sum::<usize>()
            })
    }

    /// Whether the span is a failure: an error status that is not an HTTP 4xx. The semantic
    /// conventions mark a client span ERROR for every 4xx, but a 404 lookup or a 402 decline is
    /// an answer the caller expects (a business outcome), not the callee failing; 5xx,
    /// timeouts and refused connections are failures.
    pub fn failed(&self) -> bool {
        self.error && !self.rejected()
    }

    /// Whether the span's HTTP call was answered with a 4xx (an expected, business outcome).
    pub fn rejected(&self) -> bool {
        matches!(
            self.attributes.get("http.response.status_code"),
            Some(AttrValue::Int(400..=499))
        )
    }

    pub fn attr_str(&self, key: &str) -> Option<Arc<str>> {
        match self.attributes.get(key)? {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn status_message(&self) -> Option<&str> {
        self.extra.as_ref()?.status_message.as_deref()
    }

    pub fn events(&self) -> &[SpanEvent] {
        self.extra
            .as_ref()
            .map(|e| e.events.as_slice())
            .unwrap_or(&[])
    }

    pub fn links(&self) -> &[SpanLink] {
        self.extra
            .as_ref()
            .map(|e| e.links.as_slice())
            .unwrap_or(&[])
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
    pub attributes: Attrs,
}

impl StoredLog {
    /// Bytes the record owns on the heap (body, attributes), for the store's byte budget.
    pub fn heap_bytes(&self) -> usize {
        self.body.len() + self.attributes.encoded_len()
    }
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

/// Deduplicates the short strings that repeat across log records, span events and metric
/// points (service names, severity texts, event and metric names). Bounded in count and bytes:
/// strings longer than [`MAX_TABLE_STRING`] and, past `capacity` entries, all new strings are
/// allocated without being remembered, so a high-cardinality flood cannot grow it; it only
/// loses sharing, never text.
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
        if self.set.len() < self.capacity && s.len() <= MAX_TABLE_STRING {
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
    fn attributes_round_trip_through_the_blob() {
        let mut b = AttrsBuilder::default();
        b.push_str("http.route", "/products/{id}");
        b.push_int("http.response.status_code", 200);
        b.push_double("ratio", 0.5);
        b.push_bool("ok", true);
        let long = "x".repeat(500);
        b.push_str("url.full", &long);
        let attrs = b.build();
        let decoded = attrs.decode();
        assert_eq!(decoded.len(), 5);
        assert_eq!(
            attrs.get("http.route"),
            Some(AttrValue::Str(Arc::from("/products/{id}")))
        );
        assert_eq!(
            attrs.get("http.response.status_code"),
            Some(AttrValue::Int(200))
        );
        assert_eq!(attrs.get("ratio"), Some(AttrValue::Double(0.5)));
        assert_eq!(attrs.get("ok"), Some(AttrValue::Bool(true)));
        assert_eq!(
            attrs.get("url.full"),
            Some(AttrValue::Str(Arc::from(long.as_str())))
        );
        assert!(attrs.encoded_len() < 600);
        // Interned keys and values cost a tag and a short varint each.
        let mut small = AttrsBuilder::default();
        small.push_str("http.request.method", "GET");
        assert!(small.build().encoded_len() <= 8);
        let mut ints = AttrsBuilder::default();
        ints.push_int("n", -3);
        ints.push_int("m", i64::MIN);
        ints.push_int("o", i64::MAX);
        let ints = ints.build();
        assert_eq!(ints.get("n"), Some(AttrValue::Int(-3)));
        assert_eq!(ints.get("m"), Some(AttrValue::Int(i64::MIN)));
        assert_eq!(ints.get("o"), Some(AttrValue::Int(i64::MAX)));
    }

    #[test]
    fn a_truncated_blob_decodes_what_it_can() {
        let mut b = AttrsBuilder::default();
        b.push_int("a", 1);
        b.push_int("b", 2);
        let Attrs(bytes) = b.build();
        let cut = Attrs(bytes[..bytes.len() - 3].into());
        assert_eq!(cut.decode().len(), 1);
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
        let mut i = Interner::new(10);
        i.get(&"x".repeat(MAX_TABLE_STRING + 1));
        assert!(i.is_empty(), "long strings are not remembered");
    }

    /// Issue 13: distinct values of one key (cart ids in `url.path`) used to be interned
    /// forever until the table was full. Past its quota a key's values are stored inline,
    /// losslessly, and the table stops growing.
    #[test]
    fn a_high_cardinality_key_stops_growing_the_table_and_loses_nothing() {
        let key = "test.high_cardinality_key";
        let encode = |i: u32| {
            let mut b = AttrsBuilder::default();
            b.push_str(key, &format!("/carts/{i:x}"));
            b.build()
        };
        for i in 0..VALUES_PER_KEY {
            encode(i);
        }
        let before = attribute_table_len();
        for i in VALUES_PER_KEY..VALUES_PER_KEY + 5_000 {
            let attrs = encode(i);
            assert_eq!(
                attrs.get(key),
                Some(AttrValue::Str(Arc::from(format!("/carts/{i:x}").as_str())))
            );
        }
        let after = attribute_table_len();
        assert!(
            after < before + 100,
            "5,000 more distinct values took {} table entries",
            after - before
        );
        // A value already in the table is still shared by this key.
        let mut b = AttrsBuilder::default();
        b.push_str(key, "/carts/0");
        assert!(b.build().encoded_len() <= 8);
    }
}
