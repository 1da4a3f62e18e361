//! The bounded in-memory telemetry store.
//!
//! Three rings (spans, log records, metric points), each capped by a configurable count and
//! evicting oldest first, with indexes by trace id and by service kept in step with eviction.
//! Items are numbered by arrival (`seq`); index entries are seqs, so eviction is O(1) at the
//! front of every structure. Evicted and refused items are counted here, on the dashboard's
//! own `/metrics`, and in the API.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rustc_hash::FxHashMap;

use crate::model::{MetricPoint, Name, ReceivedSpan, StoredLog, StoredSpan, TraceId};
use crate::names::{MAX_NAMES, NameTable};

/// Caps on what is held and on each item's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_spans: usize,
    pub max_logs: usize,
    pub max_metric_points: usize,
    /// Attributes kept per span, event, log record (the rest are dropped and counted).
    pub max_attributes: usize,
    /// Longest attribute value or log body kept, in bytes (longer ones are truncated).
    pub max_value_len: usize,
    /// Longest name kept, in bytes: service, span, event and metric names, attribute keys.
    /// Names are shared and indexed, so they are held to less than values.
    pub max_name_len: usize,
    /// Bytes the held spans may take (with their share of the indexes); past it the oldest are
    /// evicted as past `max_spans`. Counts alone do not bound memory: a span may carry 64
    /// attributes of 1 KiB and events with as many again.
    pub max_span_bytes: usize,
    /// Bytes the held log records may take, likewise.
    pub max_log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_spans: 100_000,
            max_logs: 50_000,
            max_metric_points: 100_000,
            max_attributes: 64,
            max_value_len: 1024,
            max_name_len: 256,
            max_span_bytes: 64 * 1024 * 1024,
            max_log_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Counters of what the store did, all monotonic.
#[derive(Debug, Default)]
pub struct Counters {
    pub spans_received: AtomicU64,
    pub spans_evicted: AtomicU64,
    pub spans_refused: AtomicU64,
    pub logs_received: AtomicU64,
    pub logs_evicted: AtomicU64,
    pub logs_refused: AtomicU64,
    pub points_received: AtomicU64,
    pub points_evicted: AtomicU64,
    pub points_refused: AtomicU64,
    pub attributes_dropped: AtomicU64,
    pub values_truncated: AtomicU64,
}

/// What `/api/store` reports.
pub use dashboard_api::StoreStats;

/// What an item holds in memory, approximately: its own size, what it owns on the heap, and
/// its share of the indexes. The byte budget is kept in these units.
trait HeldBytes {
    fn held_bytes(&self) -> usize;
}

/// A ring of items numbered by arrival, capped by count and by [`HeldBytes`].
#[derive(Debug)]
struct Ring<T> {
    items: VecDeque<T>,
    /// seq of `items[0]`.
    base: u64,
    cap: usize,
    /// Bytes held by `items`, and the most they may hold.
    bytes: usize,
    max_bytes: usize,
}

impl<T: HeldBytes> Ring<T> {
    fn new(cap: usize, max_bytes: usize) -> Self {
        Self {
            items: VecDeque::new(),
            base: 0,
            cap: cap.max(1),
            bytes: 0,
            max_bytes,
        }
    }

    /// Reserves the whole ring up front: growth by doubling would otherwise leave up to half of
    /// a large ring allocated but unused. Untouched pages cost no resident memory.
    fn with_capacity(cap: usize, max_bytes: usize) -> Self {
        Self {
            items: VecDeque::with_capacity(cap.max(1)),
            ..Self::new(cap, max_bytes)
        }
    }

    /// Evicts the oldest item, with its seq, while an item of `incoming` bytes would not fit
    /// by count or by bytes (call until `None`; an item larger than the whole budget ends up
    /// alone in the ring).
    fn evict_for(&mut self, incoming: usize) -> Option<(u64, T)> {
        let fits =
            self.items.len() < self.cap && self.bytes.saturating_add(incoming) <= self.max_bytes;
        if fits {
            return None;
        }
        let old = self.items.pop_front()?;
        let seq = self.base;
        self.base += 1;
        self.bytes = self.bytes.saturating_sub(old.held_bytes());
        Some((seq, old))
    }

    fn next_seq(&self) -> u64 {
        self.base + self.items.len() as u64
    }

    fn get(&self, seq: u64) -> Option<&T> {
        seq.checked_sub(self.base)
            .and_then(|i| self.items.get(usize::try_from(i).ok()?))
    }

    /// Appends; make room with [`Ring::evict_for`] first.
    fn push(&mut self, item: T) {
        self.bytes = self.bytes.saturating_add(item.held_bytes());
        self.items.push_back(item);
    }
}

/// Removes `seq` (the oldest entry) from the list under `key`, dropping empty lists.
fn unindex<K: std::hash::Hash + Eq>(index: &mut HashMap<K, VecDeque<u64>>, key: &K, seq: u64) {
    if let Some(list) = index.get_mut(key) {
        if list.front() == Some(&seq) {
            list.pop_front();
        } else {
            list.retain(|s| *s != seq);
        }
        if list.is_empty() {
            index.remove(key);
        }
    }
}

/// No previous item in a chain.
const NONE: u64 = u64::MAX;

#[derive(Debug)]
struct Slot {
    span: StoredSpan,
    /// How far back the previous span of the same trace is (0: none). A chain instead of
    /// per-trace lists keeps the index at 8 bytes a span.
    prev_in_trace: u32,
    /// How far back the previous span of the same service is (0: none).
    prev_in_service: u32,
}

/// A held span's bytes: its slot, a trace entry at worst (the index is by trace), its heap.
fn span_bytes(span: &StoredSpan) -> usize {
    std::mem::size_of::<Slot>() + std::mem::size_of::<TraceEntry>() + span.heap_bytes()
}

impl HeldBytes for Slot {
    fn held_bytes(&self) -> usize {
        span_bytes(&self.span)
    }
}

impl HeldBytes for StoredLog {
    fn held_bytes(&self) -> usize {
        // Two index entries (by trace, by service).
        std::mem::size_of::<StoredLog>() + 2 * std::mem::size_of::<u64>() + self.heap_bytes()
    }
}

fn delta(seq: u64, prev: u64) -> u32 {
    if prev == NONE {
        0
    } else {
        u32::try_from(seq - prev).unwrap_or(0)
    }
}

fn back(seq: u64, delta: u32) -> u64 {
    if delta == 0 {
        NONE
    } else {
        seq - u64::from(delta)
    }
}

/// What is known about a trace without walking its spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceEntry {
    pub last_seq: u64,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub span_count: u32,
    pub error: bool,
    /// A call in it was answered with a 4xx.
    pub rejected: bool,
    /// One bit per service (the 64th bit is shared by any further services).
    service_bits: u64,
}

#[derive(Debug)]
pub struct SpanStore {
    ring: Ring<Slot>,
    /// The service and span names of the held spans (and only those).
    names: NameTable,
    by_trace: FxHashMap<TraceId, TraceEntry>,
    by_service: FxHashMap<Name, u64>,
    /// Services with a held span -> their bit in [`TraceEntry::service_bits`].
    service_bit: FxHashMap<Name, u32>,
    /// The next unused bit. Bits are never given twice (a trace may still carry the bit of a
    /// service whose spans are gone), so past 63 services every new one shares bit 63.
    next_bit: u32,
}

/// The largest span ring: two names a span must fit in the name table's ids.
const MAX_SPANS: usize = MAX_NAMES / 2;

impl SpanStore {
    fn new(cap: usize, max_bytes: usize) -> Self {
        Self {
            ring: Ring::with_capacity(cap.min(MAX_SPANS), max_bytes),
            names: NameTable::default(),
            by_trace: FxHashMap::default(),
            by_service: FxHashMap::default(),
            service_bit: FxHashMap::default(),
            next_bit: 0,
        }
    }

    fn bit(&mut self, service: Name) -> u32 {
        *self.service_bit.entry(service).or_insert_with(|| {
            let bit = self.next_bit.min(63);
            self.next_bit = self.next_bit.saturating_add(1);
            bit
        })
    }

    /// The text of a held span's service or span name.
    pub fn name(&self, name: Name) -> &str {
        self.names.get(name)
    }

    /// Service and span names in use.
    pub fn name_count(&self) -> usize {
        self.names.len()
    }

    /// Gives back an evicted span's names.
    fn release(&mut self, span: &StoredSpan) {
        if self.names.release(span.service) {
            self.service_bit.remove(&span.service);
        }
        if self.names.release(span.name) {
            self.service_bit.remove(&span.name);
        }
    }

    /// Forgets an evicted span: its trace and service index entries and its names.
    fn forget(&mut self, seq: u64, old: &StoredSpan) {
        if let Some(e) = self.by_trace.get_mut(&old.trace_id) {
            e.span_count = e.span_count.saturating_sub(1);
            if e.last_seq == seq {
                self.by_trace.remove(&old.trace_id);
            }
        }
        if self.by_service.get(&old.service) == Some(&seq) {
            self.by_service.remove(&old.service);
        }
        self.release(old);
    }

    /// Stores a span, evicting the oldest ones while it does not fit; returns how many were
    /// evicted.
    fn push(&mut self, span: ReceivedSpan<'_>) -> u64 {
        // Names first: evicting the last span of a name must not free the one being stored.
        let service = self.names.acquire(span.service);
        let name = self.names.acquire(span.name);
        let span = span.with_names(service, name);
        let size = span_bytes(&span);
        let mut evicted = 0;
        while let Some((seq, old)) = self.ring.evict_for(size) {
            self.forget(seq, &old.span);
            evicted += 1;
        }
        let seq = self.ring.next_seq();
        let bit = self.bit(span.service);
        let entry = self.by_trace.entry(span.trace_id).or_insert(TraceEntry {
            last_seq: NONE,
            start_unix_nano: u64::MAX,
            end_unix_nano: 0,
            span_count: 0,
            error: false,
            rejected: false,
            service_bits: 0,
        });
        let prev_in_trace = entry.last_seq;
        entry.last_seq = seq;
        entry.start_unix_nano = entry.start_unix_nano.min(span.start_unix_nano);
        entry.end_unix_nano = entry.end_unix_nano.max(span.end_unix_nano);
        entry.span_count = entry.span_count.saturating_add(1);
        entry.error |= span.failed();
        entry.rejected |= span.rejected();
        entry.service_bits |= 1 << bit;
        let prev_in_service = self.by_service.insert(span.service, seq).unwrap_or(NONE);
        self.ring.push(Slot {
            span,
            prev_in_trace: delta(seq, prev_in_trace),
            prev_in_service: delta(seq, prev_in_service),
        });
        evicted
    }

    /// Bytes the held spans take, approximately (see [`Limits::max_span_bytes`]).
    pub fn bytes(&self) -> usize {
        self.ring.bytes
    }

    fn chain(&self, start: u64, next: fn(&Slot) -> u32) -> impl Iterator<Item = &StoredSpan> {
        let mut seq = start;
        std::iter::from_fn(move || {
            if seq == NONE {
                return None;
            }
            let slot = self.ring.get(seq)?;
            seq = back(seq, next(slot));
            Some(&slot.span)
        })
    }

    pub fn len(&self) -> usize {
        self.ring.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.items.is_empty()
    }

    /// When the oldest span held ended (the front of the ring: the first to be evicted).
    pub fn oldest_end_unix_nano(&self) -> Option<u64> {
        self.ring.items.front().map(|s| s.span.end_unix_nano)
    }

    pub fn trace_count(&self) -> usize {
        self.by_trace.len()
    }

    pub fn trace_entry(&self, id: &TraceId) -> Option<&TraceEntry> {
        self.by_trace.get(id)
    }

    /// Every held span of a trace, newest first.
    pub fn trace(&self, id: &TraceId) -> Vec<&StoredSpan> {
        match self.by_trace.get(id) {
            Some(e) => self.chain(e.last_seq, |s| s.prev_in_trace).collect(),
            None => Vec::new(),
        }
    }

    /// Spans newest first, optionally of one service only.
    pub fn newest<'a>(
        &'a self,
        service: Option<&str>,
    ) -> Box<dyn Iterator<Item = &'a StoredSpan> + 'a> {
        match service {
            Some(name) => match self
                .names
                .lookup(name)
                .and_then(|n| self.by_service.get(&n))
            {
                Some(last) => Box::new(self.chain(*last, |s| s.prev_in_service)),
                None => Box::new(std::iter::empty()),
            },
            None => Box::new(self.ring.items.iter().rev().map(|s| &s.span)),
        }
    }

    /// Trace ids matching the filters, newest (by end time) first: one pass over the trace
    /// index, keeping the best `limit` in a heap.
    pub fn search(&self, f: &TraceFilter<'_>, limit: usize) -> Vec<TraceId> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let service = f.service;
        let bit = match service {
            Some(name) => match self.names.lookup(name) {
                Some(n) if self.by_service.contains_key(&n) => self.service_bit.get(&n).copied(),
                _ => return Vec::new(),
            },
            None => None,
        };
        let mut heap: BinaryHeap<Reverse<(u64, TraceId)>> = BinaryHeap::with_capacity(limit + 1);
        for (id, e) in &self.by_trace {
            if bit.is_some_and(|b| e.service_bits & (1 << b) == 0)
                || !f.status.admits(e)
                || e.end_unix_nano.saturating_sub(e.start_unix_nano) < f.min_duration_nanos
                || e.end_unix_nano < f.from_unix_nano
                || e.start_unix_nano > f.to_unix_nano
            {
                continue;
            }
            // Past the index: the shared bit of 64+ services, and the route, need the spans.
            let check_service = bit == Some(63);
            if (check_service || f.route.is_some())
                && !self.trace(id).iter().any(|s| {
                    service.is_none_or(|n| self.name(s.service) == n)
                        && f.route
                            .is_none_or(|r| s.attr_str("http.route").is_some_and(|v| &*v == r))
                })
            {
                continue;
            }
            heap.push(Reverse((e.end_unix_nano, *id)));
            if heap.len() > limit {
                heap.pop();
            }
        }
        let mut out: Vec<(u64, TraceId)> = heap.into_iter().map(|Reverse(x)| x).collect();
        out.sort_by(|a, b| b.cmp(a));
        out.into_iter().map(|(_, id)| id).collect()
    }
}

/// Which traces a search wants, by their outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TraceStatus {
    #[default]
    Any,
    /// A failure in it (a 5xx, a timeout, a refused call).
    Failed,
    /// A call answered with a 4xx and no failure.
    Rejected,
    /// Neither.
    Ok,
}

impl TraceStatus {
    fn admits(self, e: &TraceEntry) -> bool {
        match self {
            TraceStatus::Any => true,
            TraceStatus::Failed => e.error,
            TraceStatus::Rejected => e.rejected && !e.error,
            TraceStatus::Ok => !e.error && !e.rejected,
        }
    }
}

/// A trace search's filters (see `GET /api/traces`).
#[derive(Debug, Clone, Copy)]
pub struct TraceFilter<'a> {
    pub service: Option<&'a str>,
    pub status: TraceStatus,
    pub min_duration_nanos: u64,
    /// Only traces with a span (of `service`, when given) serving this `http.route`.
    pub route: Option<&'a str>,
    /// Only traces still running at or after this time.
    pub from_unix_nano: u64,
    /// Only traces started by this time.
    pub to_unix_nano: u64,
}

impl Default for TraceFilter<'_> {
    fn default() -> Self {
        Self {
            service: None,
            status: TraceStatus::Any,
            min_duration_nanos: 0,
            route: None,
            from_unix_nano: 0,
            to_unix_nano: u64::MAX,
        }
    }
}

#[derive(Debug)]
pub struct LogStore {
    ring: Ring<StoredLog>,
    by_trace: HashMap<TraceId, VecDeque<u64>>,
    by_service: HashMap<Arc<str>, VecDeque<u64>>,
}

impl LogStore {
    fn new(cap: usize, max_bytes: usize) -> Self {
        Self {
            ring: Ring::new(cap, max_bytes),
            by_trace: HashMap::new(),
            by_service: HashMap::new(),
        }
    }

    /// Stores a record, evicting the oldest ones while it does not fit; returns how many were
    /// evicted.
    fn push(&mut self, log: StoredLog) -> u64 {
        let mut evicted = 0;
        while let Some((seq, old)) = self.ring.evict_for(log.held_bytes()) {
            if let Some(t) = old.trace_id {
                unindex(&mut self.by_trace, &t, seq);
            }
            unindex(&mut self.by_service, &old.service, seq);
            evicted += 1;
        }
        let seq = self.ring.next_seq();
        if let Some(t) = log.trace_id {
            self.by_trace.entry(t).or_default().push_back(seq);
        }
        self.by_service
            .entry(log.service.clone())
            .or_default()
            .push_back(seq);
        self.ring.push(log);
        evicted
    }

    /// Bytes the held records take, approximately (see [`Limits::max_log_bytes`]).
    pub fn bytes(&self) -> usize {
        self.ring.bytes
    }

    pub fn len(&self) -> usize {
        self.ring.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.items.is_empty()
    }

    /// A trace's logs in arrival order, each with its arrival number.
    pub fn of_trace(&self, id: &TraceId) -> Vec<(u64, &StoredLog)> {
        self.by_trace
            .get(id)
            .map(|seqs| {
                seqs.iter()
                    .filter_map(|s| Some((*s, self.ring.get(*s)?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Logs newest first (of one service, or all), each with its arrival number: numbers only
    /// grow, so "what arrived after n" is a prefix of this.
    pub fn newest<'a>(
        &'a self,
        service: Option<&str>,
    ) -> Box<dyn Iterator<Item = (u64, &'a StoredLog)> + 'a> {
        match service {
            Some(name) => match self.by_service.get(name) {
                Some(seqs) => Box::new(
                    seqs.iter()
                        .rev()
                        .filter_map(|s| Some((*s, self.ring.get(*s)?))),
                ),
                None => Box::new(std::iter::empty()),
            },
            None => {
                let base = self.ring.base;
                Box::new(
                    self.ring
                        .items
                        .iter()
                        .enumerate()
                        .rev()
                        .map(move |(i, l)| (base + i as u64, l)),
                )
            }
        }
    }
}

/// The first span of a service that a fault acted on (it carries `apiary.fault`), as a
/// drill's time-to-detect breakdown needs it: when the request ended, when the span arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstFaulted {
    pub end_unix_nano: u64,
    pub received_unix_ms: u64,
}

#[derive(Debug)]
struct FaultedWatch {
    id: u64,
    service: String,
    since_unix_nano: u64,
    found: Option<FirstFaulted>,
}

/// How late spans arrive (span end -> stored), per batch, over the last [`INGEST_WINDOW_MS`].
#[derive(Debug, Default)]
struct IngestLag {
    /// `(stored at Unix ms, spans, sum of lags ms, largest lag ms)` per batch.
    batches: VecDeque<(u64, u64, u64, u64)>,
}

const INGEST_WINDOW_MS: u64 = 10_000;

/// The store shared by receivers, deriving tasks and the API.
#[derive(Debug)]
pub struct Store {
    pub limits: Limits,
    pub spans: RwLock<SpanStore>,
    pub logs: RwLock<LogStore>,
    pub points: RwLock<VecDeque<MetricPoint>>,
    pub counters: Counters,
    /// Pending first-faulted-span watches (a drill's, while it runs); `watching` counts them
    /// so that ingest pays one atomic load when there are none.
    watches: Mutex<Vec<FaultedWatch>>,
    watching: AtomicUsize,
    next_watch: AtomicU64,
    ingest: Mutex<IngestLag>,
}

impl Store {
    pub fn new(limits: Limits) -> Arc<Self> {
        // Every signal's counters exist from the start (at 0), so a scraper's rate() of them
        // has a series before the first item is refused.
        for signal in ["traces", "logs", "metrics"] {
            for name in [
                "dashboard_items_received_total",
                "dashboard_items_evicted_total",
                "dashboard_items_refused_total",
            ] {
                metrics::counter!(name, "signal" => signal).increment(0);
            }
        }
        Arc::new(Self {
            limits,
            spans: RwLock::new(SpanStore::new(limits.max_spans, limits.max_span_bytes)),
            logs: RwLock::new(LogStore::new(limits.max_logs, limits.max_log_bytes)),
            points: RwLock::new(VecDeque::new()),
            counters: Counters::default(),
            watches: Mutex::new(Vec::new()),
            watching: AtomicUsize::new(0),
            next_watch: AtomicU64::new(1),
            ingest: Mutex::new(IngestLag::default()),
        })
    }

    /// Starts watching for the first span of `service` that ends at or after `since` and
    /// carries `apiary.fault`; read it with [`Store::faulted`], stop with [`Store::unwatch`].
    pub fn watch_faulted(&self, service: &str, since_unix_nano: u64) -> u64 {
        let id = self.next_watch.fetch_add(1, Ordering::Relaxed);
        let mut w = self.watches.lock().unwrap_or_else(|p| p.into_inner());
        w.push(FaultedWatch {
            id,
            service: service.to_owned(),
            since_unix_nano,
            found: None,
        });
        self.watching.store(w.len(), Ordering::Relaxed);
        id
    }

    /// What watch `id` found so far.
    pub fn faulted(&self, id: u64) -> Option<FirstFaulted> {
        let w = self.watches.lock().unwrap_or_else(|p| p.into_inner());
        w.iter().find(|x| x.id == id).and_then(|x| x.found)
    }

    pub fn unwatch(&self, id: u64) {
        let mut w = self.watches.lock().unwrap_or_else(|p| p.into_inner());
        w.retain(|x| x.id != id);
        self.watching.store(w.len(), Ordering::Relaxed);
    }

    /// Fills pending watches from a batch about to be stored.
    fn check_watches(&self, spans: &[ReceivedSpan<'_>], now_ms: u64) {
        let mut w = self.watches.lock().unwrap_or_else(|p| p.into_inner());
        for watch in w.iter_mut().filter(|x| x.found.is_none()) {
            let first = spans
                .iter()
                .filter(|s| {
                    s.service == watch.service
                        && s.end_unix_nano >= watch.since_unix_nano
                        && s.attributes.get("apiary.fault").is_some()
                })
                .map(|s| s.end_unix_nano)
                .min();
            if let Some(end) = first {
                watch.found = Some(FirstFaulted {
                    end_unix_nano: end,
                    received_unix_ms: now_ms,
                });
            }
        }
    }

    /// Notes how late a batch arrived (span end -> now).
    fn note_lag(&self, spans: &[ReceivedSpan<'_>], now_ms: u64) {
        if spans.is_empty() {
            return;
        }
        let now_ns = now_ms.saturating_mul(1_000_000);
        let (mut sum, mut max) = (0u64, 0u64);
        for s in spans {
            let lag = now_ns.saturating_sub(s.end_unix_nano) / 1_000_000;
            sum = sum.saturating_add(lag);
            max = max.max(lag);
        }
        let mut l = self.ingest.lock().unwrap_or_else(|p| p.into_inner());
        l.batches.push_back((now_ms, spans.len() as u64, sum, max));
        while l
            .batches
            .front()
            .is_some_and(|b| b.0 + INGEST_WINDOW_MS < now_ms)
        {
            l.batches.pop_front();
        }
    }

    /// Mean and largest span end -> stored delay of the last ten seconds (ms).
    pub fn ingest_lag_ms(&self) -> Option<(u64, u64)> {
        let now_ms = crate::monitor::now_ms();
        let l = self.ingest.lock().unwrap_or_else(|p| p.into_inner());
        let recent = l
            .batches
            .iter()
            .filter(|b| b.0 + INGEST_WINDOW_MS >= now_ms);
        let (mut n, mut sum, mut max) = (0u64, 0u64, 0u64);
        for b in recent {
            n += b.1;
            sum = sum.saturating_add(b.2);
            max = max.max(b.3);
        }
        (n > 0).then(|| (sum / n, max))
    }

    pub fn insert_spans(&self, spans: Vec<ReceivedSpan<'_>>) {
        let n = spans.len() as u64;
        let now_ms = crate::monitor::now_ms();
        self.note_lag(&spans, now_ms);
        if self.watching.load(Ordering::Relaxed) > 0 {
            self.check_watches(&spans, now_ms);
        }
        let mut evicted = 0u64;
        if let Ok(mut store) = self.spans.write() {
            for span in spans {
                evicted += store.push(span);
            }
        }
        self.counters.spans_received.fetch_add(n, Ordering::Relaxed);
        self.counters
            .spans_evicted
            .fetch_add(evicted, Ordering::Relaxed);
        metrics::counter!("dashboard_items_received_total", "signal" => "traces").increment(n);
        metrics::counter!("dashboard_items_evicted_total", "signal" => "traces").increment(evicted);
    }

    pub fn insert_logs(&self, logs: Vec<StoredLog>) {
        let n = logs.len() as u64;
        let mut evicted = 0u64;
        if let Ok(mut store) = self.logs.write() {
            for log in logs {
                evicted += store.push(log);
            }
        }
        self.counters.logs_received.fetch_add(n, Ordering::Relaxed);
        self.counters
            .logs_evicted
            .fetch_add(evicted, Ordering::Relaxed);
        metrics::counter!("dashboard_items_received_total", "signal" => "logs").increment(n);
        metrics::counter!("dashboard_items_evicted_total", "signal" => "logs").increment(evicted);
    }

    pub fn insert_points(&self, points: Vec<MetricPoint>) {
        let n = points.len() as u64;
        let mut evicted = 0u64;
        if let Ok(mut ring) = self.points.write() {
            for p in points {
                if ring.len() >= self.limits.max_metric_points.max(1) {
                    ring.pop_front();
                    evicted += 1;
                }
                ring.push_back(p);
            }
        }
        self.counters
            .points_received
            .fetch_add(n, Ordering::Relaxed);
        self.counters
            .points_evicted
            .fetch_add(evicted, Ordering::Relaxed);
        metrics::counter!("dashboard_items_received_total", "signal" => "metrics").increment(n);
        metrics::counter!("dashboard_items_evicted_total", "signal" => "metrics")
            .increment(evicted);
    }

    /// Items the receivers refused (malformed ids, over budget).
    pub fn refused(&self, signal: &'static str, n: u64) {
        let counter = match signal {
            "traces" => &self.counters.spans_refused,
            "logs" => &self.counters.logs_refused,
            _ => &self.counters.points_refused,
        };
        counter.fetch_add(n, Ordering::Relaxed);
        metrics::counter!("dashboard_items_refused_total", "signal" => signal).increment(n);
    }

    pub fn stats(&self) -> StoreStats {
        let lag = self.ingest_lag_ms();
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (spans, traces, span_bytes) = self
            .spans
            .read()
            .map(|s| (s.len(), s.trace_count(), s.bytes()))
            .unwrap_or_default();
        let (logs, log_bytes) = self
            .logs
            .read()
            .map(|l| (l.len(), l.bytes()))
            .unwrap_or_default();
        StoreStats {
            spans,
            traces,
            logs,
            span_bytes,
            log_bytes,
            max_span_bytes: self.limits.max_span_bytes,
            max_log_bytes: self.limits.max_log_bytes,
            metric_points: self.points.read().map(|p| p.len()).unwrap_or_default(),
            max_spans: self.limits.max_spans,
            max_logs: self.limits.max_logs,
            max_metric_points: self.limits.max_metric_points,
            spans_received: get(&c.spans_received),
            spans_evicted: get(&c.spans_evicted),
            spans_refused: get(&c.spans_refused),
            logs_received: get(&c.logs_received),
            logs_evicted: get(&c.logs_evicted),
            logs_refused: get(&c.logs_refused),
            points_received: get(&c.points_received),
            points_evicted: get(&c.points_evicted),
            points_refused: get(&c.points_refused),
            attributes_dropped: get(&c.attributes_dropped),
            values_truncated: get(&c.values_truncated),
            ingest_lag_ms_mean: lag.map(|l| l.0),
            ingest_lag_ms_max: lag.map(|l| l.1),
            oldest_span_unix_ms: self
                .spans
                .read()
                .ok()
                .and_then(|s| s.oldest_end_unix_nano())
                .map(|ns| ns / 1_000_000),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::SpanKind;

    pub(crate) fn span(trace: u8, id: u8, service: &str) -> ReceivedSpan<'_> {
        ReceivedSpan {
            trace_id: [trace; 16],
            span_id: [id; 8],
            parent_span_id: None,
            service,
            name: "GET /x",
            kind: SpanKind::Server,
            start_unix_nano: u64::from(id) * 1_000,
            end_unix_nano: u64::from(id) * 1_000 + 500,
            error: false,
            attributes: crate::model::Attrs::default(),
            extra: None,
        }
    }

    #[test]
    fn eviction_keeps_the_cap_and_the_indexes_in_step() {
        let store = Store::new(Limits {
            max_spans: 3,
            ..Limits::default()
        });
        store.insert_spans(vec![span(1, 1, "a"), span(1, 2, "b"), span(2, 3, "a")]);
        store.insert_spans(vec![span(3, 4, "b"), span(3, 5, "b")]);
        let spans = store.spans.read().expect("lock");
        assert_eq!(spans.len(), 3);
        assert!(
            spans.trace(&[1; 16]).is_empty(),
            "trace 1 was fully evicted"
        );
        assert_eq!(spans.trace(&[3; 16]).len(), 2);
        assert_eq!(spans.newest(Some("a")).count(), 1);
        assert_eq!(spans.newest(Some("b")).count(), 2);
        assert_eq!(spans.trace_count(), 2);
        drop(spans);
        let stats = store.stats();
        assert_eq!((stats.spans_received, stats.spans_evicted), (5, 2));
    }

    #[test]
    fn newest_iterates_backwards_in_arrival_order() {
        let store = Store::new(Limits::default());
        store.insert_spans(vec![span(1, 1, "a"), span(2, 2, "a"), span(3, 3, "b")]);
        let spans = store.spans.read().expect("lock");
        let ids: Vec<u8> = spans.newest(None).map(|s| s.span_id[0]).collect();
        assert_eq!(ids, [3, 2, 1]);
        let ids: Vec<u8> = spans.newest(Some("a")).map(|s| s.span_id[0]).collect();
        assert_eq!(ids, [2, 1]);
        assert_eq!(spans.newest(Some("nobody")).count(), 0);
    }

    #[test]
    fn search_filters_on_the_trace_index_newest_first() {
        let store = Store::new(Limits::default());
        let mut slow_error = span(1, 1, "a");
        slow_error.end_unix_nano = slow_error.start_unix_nano + 5_000_000;
        slow_error.error = true;
        store.insert_spans(vec![
            slow_error,
            span(1, 2, "b"),
            span(2, 3, "a"),
            span(3, 4, "b"),
        ]);
        let mut declined = span(4, 5, "payment");
        let mut b = crate::model::AttrsBuilder::with_capacity(2);
        b.push_int("http.response.status_code", 402);
        b.push_str("http.route", "/charges");
        declined.error = true;
        declined.attributes = b.build();
        store.insert_spans(vec![declined]);
        let spans = store.spans.read().expect("lock");
        let search = |service, status, min_duration_nanos, limit| {
            spans.search(
                &TraceFilter {
                    service,
                    status,
                    min_duration_nanos,
                    ..TraceFilter::default()
                },
                limit,
            )
        };
        use TraceStatus::{Any, Failed, Ok, Rejected};
        // Newest by end time: the slow trace ended last.
        assert_eq!(
            search(None, Any, 0, 10),
            vec![[1; 16], [4; 16], [3; 16], [2; 16]]
        );
        assert_eq!(search(Some("a"), Any, 0, 10), vec![[1; 16], [2; 16]]);
        assert_eq!(search(None, Failed, 0, 10), vec![[1; 16]]);
        // A 402 is an answer, not a failure.
        assert_eq!(search(None, Rejected, 0, 10), vec![[4; 16]]);
        assert_eq!(search(None, Ok, 0, 10), vec![[3; 16], [2; 16]]);
        assert_eq!(search(None, Any, 1_000_000, 10), vec![[1; 16]]);
        assert_eq!(search(None, Any, 0, 1), vec![[1; 16]]);
        assert!(search(Some("nobody"), Any, 0, 10).is_empty());
        // A second's window: traces running in it (trace 3 runs 4000-4500 ns, the slow trace
        // 1000-5001000).
        let window = |from_unix_nano, to_unix_nano| {
            spans.search(
                &TraceFilter {
                    from_unix_nano,
                    to_unix_nano,
                    ..TraceFilter::default()
                },
                10,
            )
        };
        assert_eq!(window(4_100, 4_200), vec![[1; 16], [3; 16]]);
        assert_eq!(window(0, 2_500), vec![[1; 16]]);
        assert_eq!(window(5_600, u64::MAX), vec![[1; 16]]);
        // A route: a span serving it (of the service, when one is named).
        let route = |service, route| {
            spans.search(
                &TraceFilter {
                    service,
                    route: Some(route),
                    ..TraceFilter::default()
                },
                10,
            )
        };
        assert_eq!(route(None, "/charges"), vec![[4; 16]]);
        assert_eq!(route(Some("payment"), "/charges"), vec![[4; 16]]);
        assert!(route(Some("payment"), "/refunds").is_empty());
        assert!(route(Some("a"), "/charges").is_empty());
        assert_eq!(spans.trace_entry(&[1; 16]).map(|e| e.span_count), Some(2));
    }

    /// Issue 13: names used to be interned forever in a table that, once full, named every
    /// new service "(other)". Now the store holds the names of its spans and no others.
    #[test]
    fn names_leave_with_their_spans_and_a_late_service_keeps_its_name() {
        let store = Store::new(Limits {
            max_spans: 100,
            ..Limits::default()
        });
        let names: Vec<String> = (0..20_000).map(|i| format!("GET /carts/{i:x}")).collect();
        for (i, chunk) in names.chunks(1_000).enumerate() {
            let spans = chunk
                .iter()
                .enumerate()
                .map(|(j, name)| ReceivedSpan {
                    name,
                    ..span(
                        i as u8,
                        j as u8,
                        if j % 2 == 0 { "flood" } else { "flood-2" },
                    )
                })
                .collect();
            store.insert_spans(spans);
        }
        store.insert_spans(vec![span(0xaa, 1, "late-service")]);
        let spans = store.spans.read().expect("lock");
        assert!(
            spans.name_count() <= 100 + 3,
            "only the held spans' names are kept: {}",
            spans.name_count()
        );
        assert!(
            spans.service_bit.len() <= 3,
            "bits of gone services are dropped"
        );
        let late: Vec<&StoredSpan> = spans.newest(Some("late-service")).collect();
        assert_eq!(late.len(), 1);
        assert_eq!(spans.name(late[0].service), "late-service");
        assert_eq!(spans.name(late[0].name), "GET /x");
        assert_eq!(
            spans.search(
                &TraceFilter {
                    service: Some("late-service"),
                    ..TraceFilter::default()
                },
                10
            ),
            vec![[0xaa; 16]]
        );
        let newest = spans.newest(None).nth(1).expect("a flood span");
        assert_eq!(spans.name(newest.name), "GET /carts/4e1f");
    }

    /// Issue 13: the store was bounded by counts only; 100,000 spans of 64 attributes of 1 KiB
    /// each would have held gigabytes. The byte budget evicts the oldest as the count does.
    #[test]
    fn spans_and_logs_are_bounded_by_bytes_too() {
        let store = Store::new(Limits {
            max_span_bytes: 20 * 1024,
            max_log_bytes: 10 * 1024,
            ..Limits::default()
        });
        let big_value = "v".repeat(1024);
        let big = || {
            let mut b = crate::model::AttrsBuilder::default();
            b.push_str("payload", &big_value);
            b.build()
        };
        for i in 0..100u8 {
            store.insert_spans(vec![ReceivedSpan {
                attributes: big(),
                ..span(i, 1, "svc")
            }]);
            store.insert_logs(vec![StoredLog {
                time_unix_nano: 0,
                severity_number: 9,
                severity_text: Arc::from("INFO"),
                body: big_value.as_str().into(),
                service: Arc::from("svc"),
                trace_id: Some([i; 16]),
                span_id: None,
                attributes: big(),
            }]);
        }
        let stats = store.stats();
        assert!(stats.span_bytes <= 20 * 1024, "{stats:?}");
        assert!(stats.log_bytes <= 10 * 1024, "{stats:?}");
        assert!(stats.spans > 5 && stats.spans < 20, "{stats:?}");
        assert_eq!(stats.spans_evicted, 100 - stats.spans as u64);
        assert_eq!(stats.logs_evicted, 100 - stats.logs as u64);
        let spans = store.spans.read().expect("lock");
        assert_eq!(
            spans.trace_count(),
            stats.spans,
            "indexes follow the evictions"
        );
        assert_eq!(
            spans
                .search(
                    &TraceFilter {
                        service: Some("svc"),
                        ..TraceFilter::default()
                    },
                    1000
                )
                .len(),
            stats.spans
        );
        let logs = store.logs.read().expect("lock");
        assert_eq!(logs.newest(Some("svc")).count(), stats.logs);
        assert!(logs.of_trace(&[0; 16]).is_empty(), "the oldest went first");
        assert_eq!(logs.of_trace(&[99; 16]).len(), 1);
    }

    #[test]
    fn metric_points_are_capped_too() {
        let store = Store::new(Limits {
            max_metric_points: 2,
            ..Limits::default()
        });
        let p = |v: f64| MetricPoint {
            service: Arc::from("a"),
            name: Arc::from("m"),
            time_unix_nano: 0,
            value: v,
        };
        store.insert_points(vec![p(1.0), p(2.0), p(3.0)]);
        let ring = store.points.read().expect("lock");
        assert_eq!(ring.iter().map(|p| p.value).collect::<Vec<_>>(), [2.0, 3.0]);
    }
}
