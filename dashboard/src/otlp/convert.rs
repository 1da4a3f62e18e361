//! OTLP protobuf messages -> stored items, applying the per-item limits.
//!
//! Items with malformed ids (a trace id that is not 16 bytes, a span id that is not 8) are
//! rejected and counted, and the receiver reports them as a partial success, as OTLP asks.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as NumberValue;
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::model::{
    Attrs, AttrsBuilder, Interner, MetricPoint, ReceivedSpan, SpanEvent, SpanExtra, SpanId,
    SpanKind, SpanLink, StoredLog, TraceId,
};
use crate::store::{Counters, Limits};

/// The outcome of converting one export request.
#[derive(Debug)]
pub struct Converted<T> {
    pub items: Vec<T>,
    pub rejected: u64,
    /// Why items were rejected (empty when none were).
    pub reason: String,
}

/// Conversion context: limits, the interner and the counters for dropped attributes.
pub struct Converter<'a> {
    pub limits: &'a Limits,
    pub interner: &'a mut Interner,
    pub counters: &'a Counters,
}

const UNKNOWN_SERVICE: &str = "unknown_service";

/// `s` cut to at most `max` bytes at a character boundary, without copying; `cut` is called
/// when it had to be cut.
fn clip_to(s: &str, max: usize, cut: impl FnOnce()) -> &str {
    if s.len() <= max {
        return s;
    }
    cut();
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Converter<'_> {
    fn truncate(&self, s: &str) -> Box<str> {
        self.clip(s).into()
    }

    /// `s` cut to the value limit at a character boundary, without copying.
    fn clip<'s>(&self, s: &'s str) -> &'s str {
        clip_to(s, self.limits.max_value_len, || {
            self.counters
                .values_truncated
                .fetch_add(1, Ordering::Relaxed);
        })
    }

    fn attributes(&mut self, kvs: &[KeyValue]) -> Attrs {
        let keep = kvs.len().min(self.limits.max_attributes);
        if kvs.len() > keep {
            self.counters
                .attributes_dropped
                .fetch_add((kvs.len() - keep) as u64, Ordering::Relaxed);
        }
        let mut b = AttrsBuilder::with_capacity(keep);
        for kv in &kvs[..keep] {
            let Some(value) = kv.value.as_ref().and_then(|v| v.value.as_ref()) else {
                continue;
            };
            let key = self.clip_name(&kv.key);
            match value {
                AnyValue::StringValue(v) => {
                    let v = self.clip(v);
                    b.push_str(key, v);
                }
                AnyValue::BoolValue(v) => b.push_bool(key, *v),
                AnyValue::IntValue(v) => b.push_int(key, *v),
                AnyValue::DoubleValue(v) => b.push_double(key, *v),
                AnyValue::BytesValue(v) => {
                    // Hex doubles the size: only what fits the value limit is encoded.
                    let text =
                        crate::model::hex(&v[..v.len().min(self.limits.max_value_len / 2 + 1)]);
                    b.push_str(key, self.clip(&text));
                }
                other => {
                    let text = format!("{other:?}");
                    let text = self.clip(&text);
                    b.push_str(key, text);
                }
            }
        }
        b.build()
    }

    /// A resource's `service.name`, clipped to the name limit.
    fn service_name<'r>(&self, resource: Option<&'r Resource>) -> &'r str {
        let name = resource
            .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                AnyValue::StringValue(s) if !s.is_empty() => Some(s.as_str()),
                _ => None,
            })
            .unwrap_or(UNKNOWN_SERVICE);
        self.clip_name(name)
    }

    fn service(&mut self, resource: Option<&Resource>) -> Arc<str> {
        let name = self.service_name(resource);
        self.interner.get(name)
    }

    /// `s` cut to the name limit (service, span, event and metric names, attribute keys).
    fn clip_name<'s>(&self, s: &'s str) -> &'s str {
        clip_to(s, self.limits.max_name_len, || {
            self.counters
                .values_truncated
                .fetch_add(1, Ordering::Relaxed);
        })
    }

    /// Spans with their names borrowed from `req`: the span store gives them ids.
    pub fn spans<'r>(&mut self, req: &'r ExportTraceServiceRequest) -> Converted<ReceivedSpan<'r>> {
        let mut out = Converted {
            items: Vec::new(),
            rejected: 0,
            reason: String::new(),
        };
        for rs in &req.resource_spans {
            let service = self.service_name(rs.resource.as_ref());
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    let (Ok(trace_id), Ok(span_id)) = (
                        TraceId::try_from(span.trace_id.as_slice()),
                        SpanId::try_from(span.span_id.as_slice()),
                    ) else {
                        out.rejected += 1;
                        out.reason = "trace_id must be 16 bytes and span_id 8 bytes".into();
                        continue;
                    };
                    let parent_span_id = SpanId::try_from(span.parent_span_id.as_slice())
                        .ok()
                        .filter(|p| p != &[0; 8]);
                    let status = span.status.as_ref();
                    let events: Vec<SpanEvent> = span
                        .events
                        .iter()
                        .take(self.limits.max_attributes)
                        .map(|e| {
                            let name = self.clip_name(&e.name);
                            SpanEvent {
                                time_unix_nano: e.time_unix_nano,
                                name: self.interner.get(name),
                                attributes: self.attributes(&e.attributes),
                            }
                        })
                        .collect();
                    let status_message = status
                        .filter(|s| !s.message.is_empty())
                        .map(|s| self.truncate(&s.message));
                    let links: Vec<SpanLink> = span
                        .links
                        .iter()
                        .take(self.limits.max_attributes)
                        .filter_map(|l| {
                            Some(SpanLink {
                                trace_id: TraceId::try_from(l.trace_id.as_slice()).ok()?,
                                span_id: SpanId::try_from(l.span_id.as_slice()).ok()?,
                            })
                        })
                        .collect();
                    let extra = (status_message.is_some()
                        || !events.is_empty()
                        || !links.is_empty())
                    .then(|| {
                        Box::new(SpanExtra {
                            status_message,
                            events,
                            links,
                        })
                    });
                    out.items.push(ReceivedSpan {
                        trace_id,
                        span_id,
                        parent_span_id,
                        service,
                        name: self.clip_name(&span.name),
                        kind: SpanKind::from_proto(span.kind),
                        start_unix_nano: span.start_time_unix_nano,
                        end_unix_nano: span.end_time_unix_nano.max(span.start_time_unix_nano),
                        // STATUS_CODE_ERROR = 2
                        error: status.is_some_and(|s| s.code == 2),
                        attributes: self.attributes(&span.attributes),
                        extra,
                    });
                }
            }
        }
        out
    }

    pub fn logs(&mut self, req: &ExportLogsServiceRequest) -> Converted<StoredLog> {
        let mut out = Converted {
            items: Vec::new(),
            rejected: 0,
            reason: String::new(),
        };
        for rl in &req.resource_logs {
            let service = self.service(rl.resource.as_ref());
            for sl in &rl.scope_logs {
                for record in &sl.log_records {
                    let trace_id = match record.trace_id.len() {
                        0 => None,
                        _ => match TraceId::try_from(record.trace_id.as_slice()) {
                            Ok(t) => Some(t),
                            Err(_) => {
                                out.rejected += 1;
                                out.reason = "trace_id must be empty or 16 bytes".into();
                                continue;
                            }
                        },
                    };
                    let body = match record.body.as_ref().and_then(|b| b.value.as_ref()) {
                        Some(AnyValue::StringValue(s)) => self.truncate(s),
                        Some(other) => self.truncate(&format!("{other:?}")),
                        None => "".into(),
                    };
                    out.items.push(StoredLog {
                        time_unix_nano: if record.time_unix_nano > 0 {
                            record.time_unix_nano
                        } else {
                            record.observed_time_unix_nano
                        },
                        severity_number: record.severity_number,
                        severity_text: {
                            let text = self.clip_name(&record.severity_text);
                            self.interner.get(text)
                        },
                        body,
                        service: service.clone(),
                        trace_id,
                        span_id: SpanId::try_from(record.span_id.as_slice()).ok(),
                        attributes: self.attributes(&record.attributes),
                    });
                }
            }
        }
        out
    }

    pub fn metrics(&mut self, req: &ExportMetricsServiceRequest) -> Converted<MetricPoint> {
        let mut out = Converted {
            items: Vec::new(),
            rejected: 0,
            reason: String::new(),
        };
        for rm in &req.resource_metrics {
            let service = self.service(rm.resource.as_ref());
            for sm in &rm.scope_metrics {
                for metric in &sm.metrics {
                    let name = self.clip_name(&metric.name);
                    let name = self.interner.get(name);
                    let mut push = |time_unix_nano: u64, value: f64| {
                        out.items.push(MetricPoint {
                            service: service.clone(),
                            name: name.clone(),
                            time_unix_nano,
                            value,
                        });
                    };
                    let number = |v: &Option<NumberValue>| match v {
                        Some(NumberValue::AsDouble(d)) => *d,
                        Some(NumberValue::AsInt(i)) => *i as f64,
                        None => 0.0,
                    };
                    match &metric.data {
                        Some(Data::Gauge(g)) => g
                            .data_points
                            .iter()
                            .for_each(|p| push(p.time_unix_nano, number(&p.value))),
                        Some(Data::Sum(s)) => s
                            .data_points
                            .iter()
                            .for_each(|p| push(p.time_unix_nano, number(&p.value))),
                        Some(Data::Histogram(h)) => h
                            .data_points
                            .iter()
                            .for_each(|p| push(p.time_unix_nano, p.count as f64)),
                        Some(Data::ExponentialHistogram(h)) => h
                            .data_points
                            .iter()
                            .for_each(|p| push(p.time_unix_nano, p.count as f64)),
                        Some(Data::Summary(s)) => s
                            .data_points
                            .iter()
                            .for_each(|p| push(p.time_unix_nano, p.count as f64)),
                        None => {}
                    }
                }
            }
        }
        out
    }
}
