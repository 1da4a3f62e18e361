//! The OTLP receivers: gRPC on 4317, HTTP on 4318, both feeding [`Ingest`].

pub mod convert;
pub mod forward;
pub mod grpc;
pub mod http;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};

use crate::model::Interner;
use crate::store::Store;
use convert::Converter;
use forward::{Forwarder, Signal};

/// Refusal because the ingest budget is spent; the sender should retry after a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget;

/// A token bucket of items per second (one second of burst).
#[derive(Debug)]
struct Budget {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Budget {
    fn refill(&mut self) {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.rate);
        self.last = now;
    }

    fn try_take(&mut self, n: usize) -> bool {
        self.refill();
        if self.tokens >= n as f64 {
            self.tokens -= n as f64;
            true
        } else {
            false
        }
    }
}

/// Shared by both receivers: converts, applies the budget, stores.
#[derive(Debug)]
pub struct Ingest {
    pub store: Arc<Store>,
    interner: Mutex<Interner>,
    budget: Mutex<Budget>,
    /// Where accepted exports are also sent, when an external collector is configured.
    forward: Option<Forwarder>,
}

fn count_spans(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

fn count_logs(req: &ExportLogsServiceRequest) -> usize {
    req.resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum()
}

fn count_points(req: &ExportMetricsServiceRequest) -> usize {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| match &m.data {
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(Data::Summary(s)) => s.data_points.len(),
            None => 0,
        })
        .sum()
}

impl Ingest {
    /// `budget_per_second`: items (spans + records + points) accepted per second.
    pub fn new(store: Arc<Store>, budget_per_second: u64) -> Arc<Self> {
        Self::forwarding(store, budget_per_second, None)
    }

    /// As [`Ingest::new`], also sending every accepted export to `forward`.
    pub fn forwarding(
        store: Arc<Store>,
        budget_per_second: u64,
        forward: Option<Forwarder>,
    ) -> Arc<Self> {
        let rate = budget_per_second.max(1) as f64;
        Arc::new(Self {
            store,
            interner: Mutex::new(Interner::new(100_000)),
            budget: Mutex::new(Budget {
                rate,
                tokens: rate,
                last: Instant::now(),
            }),
            forward,
        })
    }

    fn forward(&self, signal: Signal, request: &impl prost::Message) {
        if let Some(f) = &self.forward {
            f.offer(signal, request);
        }
    }

    /// Whether any item would be admitted now: receivers ask before reading a body, so that
    /// a sender over the budget costs no reading and no decoding.
    pub fn has_budget(&self) -> bool {
        self.budget
            .lock()
            .map(|mut b| {
                b.refill();
                b.tokens >= 1.0
            })
            .unwrap_or(false)
    }

    fn admit(&self, signal: &'static str, n: usize) -> Result<(), OverBudget> {
        let ok = self
            .budget
            .lock()
            .map(|mut b| b.try_take(n))
            .unwrap_or(false);
        if ok {
            Ok(())
        } else {
            self.store.refused(signal, n as u64);
            Err(OverBudget)
        }
    }

    fn convert<T>(&self, f: impl FnOnce(&mut Converter<'_>) -> T) -> T {
        let mut interner = match self.interner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut converter = Converter {
            limits: &self.store.limits,
            interner: &mut interner,
            counters: &self.store.counters,
        };
        f(&mut converter)
    }

    pub fn traces(
        &self,
        req: &ExportTraceServiceRequest,
    ) -> Result<ExportTraceServiceResponse, OverBudget> {
        self.admit("traces", count_spans(req))?;
        self.forward(Signal::Traces, req);
        let out = self.convert(|c| c.spans(req));
        if out.rejected > 0 {
            self.store.refused("traces", out.rejected);
        }
        self.store.insert_spans(out.items);
        Ok(ExportTraceServiceResponse {
            partial_success: (out.rejected > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: i64::try_from(out.rejected).unwrap_or(i64::MAX),
                error_message: out.reason,
            }),
        })
    }

    pub fn logs(
        &self,
        req: &ExportLogsServiceRequest,
    ) -> Result<ExportLogsServiceResponse, OverBudget> {
        self.admit("logs", count_logs(req))?;
        self.forward(Signal::Logs, req);
        let out = self.convert(|c| c.logs(req));
        if out.rejected > 0 {
            self.store.refused("logs", out.rejected);
        }
        self.store.insert_logs(out.items);
        Ok(ExportLogsServiceResponse {
            partial_success: (out.rejected > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: i64::try_from(out.rejected).unwrap_or(i64::MAX),
                error_message: out.reason,
            }),
        })
    }

    pub fn metrics(
        &self,
        req: &ExportMetricsServiceRequest,
    ) -> Result<ExportMetricsServiceResponse, OverBudget> {
        self.admit("metrics", count_points(req))?;
        self.forward(Signal::Metrics, req);
        let out = self.convert(|c| c.metrics(req));
        self.store.insert_points(out.items);
        Ok(ExportMetricsServiceResponse {
            partial_success: None::<ExportMetricsPartialSuccess>,
        })
    }
}
