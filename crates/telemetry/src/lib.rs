//! Apiary's one telemetry crate: every OpenTelemetry and metrics dependency lives here, and
//! services call it instead of the SDK. It holds telemetry only; what a service is built from
//! besides (server, health, downstream calls, resilience, faults) is `apiary-chassis`.
//!
//! # Layout
//! - [`init`] — one call per process: console logs, OTLP trace and log export (gRPC or
//!   HTTP, from the standard `OTEL_*` variables), the Prometheus recorder. Returns a
//!   [`TelemetryGuard`] whose [`TelemetryGuard::shutdown`] flushes traces, then logs, within a
//!   bound. [`Pipeline`] is the same assembly with the exporters passed in, for tests.
//! - [`config`] — what `init` reads from the environment (through `apiary-env`).
//! - [`export_queue`] — the bounded, counted export queue (why not the SDK's batch processors
//!   is explained there).
//! - [`http_server`] — the tower layer for inbound requests (server span, duration histogram,
//!   `traceresponse`).
//! - [`semconv`] — the HTTP metric names and labels both sides of a call share.
//! - [`propagation`] — W3C trace context and baggage on HTTP headers.
//! - [`prometheus`] — the process-wide recorder, process metrics and the `/metrics` handler.

pub mod config;
pub mod export_queue;
pub mod http_server;
pub mod messaging;
pub mod prometheus;
pub mod propagation;
pub mod semconv;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::resource::EnvResourceDetector;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// The metrics facade services record business metrics with (`apiary_telemetry::metrics::counter!`),
/// so no service depends on a metrics crate itself.
pub use metrics;

pub use config::{LogFormat, Protocol, TelemetryConfig};
pub use export_queue::{BatchSink, ExportQueue, LogItem, Logs, QueueConfig, QueueStats, Spans};
pub use http_server::HttpServerLayer;

/// Who is reporting: the service's own name and version.
#[derive(Debug, Clone, Copy)]
pub struct ServiceInfo {
    /// The `service.name` (overridden by `OTEL_SERVICE_NAME`).
    pub name: &'static str,
    pub version: &'static str,
}

/// Everything that can stop telemetry set-up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(transparent)]
    Env(#[from] apiary_env::EnvError),
    #[error("cannot build the OTLP {signal} exporter: {source}")]
    Exporter {
        signal: &'static str,
        source: opentelemetry_otlp::ExporterBuildError,
    },
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Crates whose own spans and events are plumbing, not the shop's work: the exporter's (which
/// would otherwise trace itself) and the AMQP client's (lapin opens an INFO `io_loop` span per
/// connection that would show up as a one-span trace of every consumer).
const EXPORT_DENYLIST: &[&str] = &[
    "lapin",
    "amq_protocol",
    "hyper",
    "hyper_util",
    "h2",
    "tonic",
    "tower",
    "reqwest",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry_http",
];

/// Which callsites become OTLP spans: spans only (events go through the log bridge, not into
/// span events), INFO and above, minus the crates in [`EXPORT_DENYLIST`].
fn span_filter() -> tracing_subscriber::filter::FilterFn<impl Fn(&tracing::Metadata<'_>) -> bool> {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let targets = EXPORT_DENYLIST.iter().fold(
        Targets::new().with_default(LevelFilter::INFO),
        |t, krate| t.with_target(*krate, LevelFilter::OFF),
    );
    tracing_subscriber::filter::filter_fn(move |meta| {
        meta.is_span() && targets.would_enable(meta.target(), meta.level())
    })
}

/// The standard resource: `service.name`, `service.version`, `service.instance.id`,
/// `service.namespace=apiary`, `deployment.environment.name=local`; then
/// `OTEL_RESOURCE_ATTRIBUTES`; then `OTEL_SERVICE_NAME` (so the environment can override).
pub fn resource(info: ServiceInfo, config: &TelemetryConfig) -> Resource {
    let name = config
        .service_name
        .clone()
        .unwrap_or_else(|| info.name.to_owned());
    Resource::builder_empty()
        .with_attributes([
            KeyValue::new("service.version", info.version),
            KeyValue::new("service.instance.id", instance_id()),
            KeyValue::new("service.namespace", "apiary"),
            KeyValue::new("deployment.environment.name", "local"),
        ])
        .with_detector(Box::new(EnvResourceDetector::new()))
        .with_service_name(name)
        .build()
}

fn instance_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}-{:x}", std::process::id(), nanos)
}

/// The providers and queues of one process. Build it with [`Pipeline::otlp`] (production) or
/// [`Pipeline::with_sinks`] (tests), get the subscriber layers from [`Pipeline::layers`], and
/// keep the [`TelemetryGuard`] from [`Pipeline::into_guard`] until shutdown.
#[derive(Debug)]
pub struct Pipeline {
    tracer_provider: Option<SdkTracerProvider>,
    logger_provider: Option<SdkLoggerProvider>,
    traces: Option<ExportQueue<SpanData>>,
    logs: Option<ExportQueue<LogItem>>,
    config: TelemetryConfig,
}

impl Pipeline {
    /// A pipeline that exports nothing (`OTEL_SDK_DISABLED=true`).
    pub fn disabled(config: TelemetryConfig) -> Self {
        Self {
            tracer_provider: None,
            logger_provider: None,
            traces: None,
            logs: None,
            config,
        }
    }

    /// Export through the given sinks. Must run inside a Tokio runtime.
    pub fn with_sinks<TS, LS>(
        resource: Resource,
        config: TelemetryConfig,
        spans: TS,
        logs: LS,
    ) -> Self
    where
        TS: BatchSink<SpanData>,
        LS: BatchSink<LogItem>,
    {
        let traces = ExportQueue::start(export_queue::Signal::Traces, spans, config.traces_queue);
        let logs = ExportQueue::start(export_queue::Signal::Logs, logs, config.logs_queue);
        let tracer_provider = SdkTracerProvider::builder()
            .with_span_processor(export_queue::QueueSpanProcessor(traces.clone()))
            .with_resource(resource.clone())
            .build();
        let logger_provider = SdkLoggerProvider::builder()
            .with_log_processor(export_queue::QueueLogProcessor(logs.clone()))
            .with_resource(resource)
            .build();
        Self {
            tracer_provider: Some(tracer_provider),
            logger_provider: Some(logger_provider),
            traces: Some(traces),
            logs: Some(logs),
            config,
        }
    }

    /// Export over OTLP as `config.protocol` says; endpoint, headers, timeout and compression
    /// come from the standard `OTEL_EXPORTER_OTLP_*` variables. Must run inside a Tokio runtime.
    pub fn otlp(resource: Resource, config: TelemetryConfig) -> Result<Self, TelemetryError> {
        use opentelemetry_otlp::{LogExporter, SpanExporter};
        let err = |signal| move |source| TelemetryError::Exporter { signal, source };
        let (spans, logs) = match config.protocol {
            Protocol::Grpc => (
                SpanExporter::builder()
                    .with_tonic()
                    .build()
                    .map_err(err("trace"))?,
                LogExporter::builder()
                    .with_tonic()
                    .build()
                    .map_err(err("log"))?,
            ),
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                let protocol = if config.protocol == Protocol::HttpJson {
                    opentelemetry_otlp::Protocol::HttpJson
                } else {
                    opentelemetry_otlp::Protocol::HttpBinary
                };
                let client = reqwest::Client::new();
                (
                    SpanExporter::builder()
                        .with_http()
                        .with_protocol(protocol)
                        .with_http_client(client.clone())
                        .build()
                        .map_err(err("trace"))?,
                    LogExporter::builder()
                        .with_http()
                        .with_protocol(protocol)
                        .with_http_client(client)
                        .build()
                        .map_err(err("log"))?,
                )
            }
        };
        Ok(Self::with_sinks(resource, config, Spans(spans), Logs(logs)))
    }

    /// Export over OTLP/HTTP to `base_url` (`/v1/traces` and `/v1/logs` are appended), as
    /// protobuf or JSON, ignoring the environment's endpoint: for tools and tests that send to
    /// a receiver they started. Must run inside a Tokio runtime.
    pub fn otlp_http_to(
        resource: Resource,
        config: TelemetryConfig,
        base_url: &str,
        json: bool,
    ) -> Result<Self, TelemetryError> {
        use opentelemetry_otlp::{LogExporter, SpanExporter};
        let protocol = if json {
            opentelemetry_otlp::Protocol::HttpJson
        } else {
            opentelemetry_otlp::Protocol::HttpBinary
        };
        let base = base_url.trim_end_matches('/');
        let client = reqwest::Client::new();
        let spans = SpanExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .with_endpoint(format!("{base}/v1/traces"))
            .with_http_client(client.clone())
            .build()
            .map_err(|source| TelemetryError::Exporter {
                signal: "trace",
                source,
            })?;
        let logs = LogExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .with_endpoint(format!("{base}/v1/logs"))
            .with_http_client(client)
            .build()
            .map_err(|source| TelemetryError::Exporter {
                signal: "log",
                source,
            })?;
        Ok(Self::with_sinks(resource, config, Spans(spans), Logs(logs)))
    }

    /// The subscriber layers: console output, and when exporting, the span layer and the log
    /// bridge (with the exporter's own crates filtered out).
    pub fn layers(&self) -> Vec<Box<dyn Layer<Registry> + Send + Sync>> {
        let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = Vec::new();
        let console_filter = EnvFilter::new(&self.config.log_filter);
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
        match self.config.log_format {
            LogFormat::Text => layers.push(
                tracing_subscriber::fmt::layer()
                    .with_ansi(ansi)
                    .with_target(false)
                    .compact()
                    .with_filter(console_filter)
                    .boxed(),
            ),
            LogFormat::Json => layers.push(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(false)
                    .with_filter(console_filter)
                    .boxed(),
            ),
        }
        if let Some(provider) = &self.tracer_provider {
            let tracer = provider.tracer("apiary");
            layers.push(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_level(true)
                    // code.*, thread.* and busy/idle times on every span cost bytes on the wire
                    // and in every store, and say nothing the span and its duration do not.
                    .with_location(false)
                    .with_threads(false)
                    .with_tracked_inactivity(false)
                    // Spans are not filtered by RUST_LOG (a trace must not lose its HTTP spans
                    // because someone lowered the console's verbosity), but by their own rule:
                    // INFO and above, never the HTTP/gRPC/exporter crates' internal spans —
                    // otherwise the exporter's own connection spans would be exported too.
                    .with_filter(span_filter())
                    .boxed(),
            );
        }
        if let Some(provider) = &self.logger_provider {
            let mut filter = EnvFilter::new(&self.config.log_filter);
            for krate in EXPORT_DENYLIST {
                if let Ok(directive) = format!("{krate}=off").parse() {
                    filter = filter.add_directive(directive);
                }
            }
            layers.push(
                opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(provider)
                    .with_filter(filter)
                    .boxed(),
            );
        }
        layers
    }

    /// Counters of the trace queue (None when export is disabled).
    pub fn trace_stats(&self) -> Option<std::sync::Arc<QueueStats>> {
        self.traces.as_ref().map(|q| q.stats().clone())
    }

    /// Counters of the log queue (None when export is disabled).
    pub fn log_stats(&self) -> Option<std::sync::Arc<QueueStats>> {
        self.logs.as_ref().map(|q| q.stats().clone())
    }

    pub fn into_guard(self) -> TelemetryGuard {
        TelemetryGuard { pipeline: self }
    }
}

/// Keeps telemetry running; call [`TelemetryGuard::shutdown`] before the process exits.
#[derive(Debug)]
#[must_use = "dropping the guard without shutdown loses buffered telemetry"]
pub struct TelemetryGuard {
    pipeline: Pipeline,
}

impl TelemetryGuard {
    /// Waits until everything queued so far is exported (or `timeout` passes).
    pub async fn flush(&self, timeout: Duration) {
        if let Some(q) = &self.pipeline.traces {
            let _ = q.flush(timeout).await;
        }
        if let Some(q) = &self.pipeline.logs {
            let _ = q.flush(timeout).await;
        }
    }

    /// Flushes and stops traces, then logs (the order the OpenTelemetry docs advise: a span's
    /// logs may be emitted while it ends), each within the configured shutdown timeout.
    /// Metrics are pulled, so there is nothing to flush for them.
    pub async fn shutdown(self) {
        let timeout = self.pipeline.config.shutdown_timeout;
        if let Some(q) = &self.pipeline.traces {
            let _ = q.shutdown(timeout).await;
        }
        if let Some(p) = &self.pipeline.tracer_provider {
            let _ = p.shutdown_with_timeout(timeout);
        }
        if let Some(q) = &self.pipeline.logs {
            let _ = q.shutdown(timeout).await;
        }
        if let Some(p) = &self.pipeline.logger_provider {
            let _ = p.shutdown_with_timeout(timeout);
        }
    }

    pub fn trace_stats(&self) -> Option<std::sync::Arc<QueueStats>> {
        self.pipeline.trace_stats()
    }

    pub fn log_stats(&self) -> Option<std::sync::Arc<QueueStats>> {
        self.pipeline.log_stats()
    }
}

/// Console logs and `/metrics` only, never OTLP export: for the dashboard, which would
/// otherwise export its own telemetry to itself.
pub fn init_console_only() -> Result<TelemetryGuard, TelemetryError> {
    let config = TelemetryConfig::from_env(&apiary_env::ProcessEnv)?;
    prometheus::handle();
    let pipeline = Pipeline::disabled(config);
    tracing_subscriber::registry()
        .with(pipeline.layers())
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(pipeline.into_guard())
}

/// Sets up telemetry for a service process from the environment and installs it globally.
/// Must run inside a Tokio runtime.
pub fn init(info: ServiceInfo) -> Result<TelemetryGuard, TelemetryError> {
    let config = TelemetryConfig::from_env(&apiary_env::ProcessEnv)?;
    prometheus::handle();
    let pipeline = if config.sdk_disabled {
        Pipeline::disabled(config)
    } else {
        let resource = resource(info, &config);
        Pipeline::otlp(resource, config)?
    };
    tracing_subscriber::registry()
        .with(pipeline.layers())
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(pipeline.into_guard())
}

/// The current span's trace id as 32 hex digits, when there is a valid one (pages show it so a
/// person can look the request up in the dashboard).
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::{Context, SubscriberExt};

    /// Records the names of the spans its filter lets through.
    struct Names(Arc<Mutex<Vec<String>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Names {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: Context<'_, S>,
        ) {
            self.0
                .lock()
                .expect("names")
                .push(attrs.metadata().name().to_owned());
        }
    }

    #[test]
    fn the_shops_spans_are_exported_and_plumbing_is_not() {
        use tracing_subscriber::Layer as _;
        let names = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry()
            .with(Names(names.clone()).with_filter(super::span_filter()));
        tracing::subscriber::with_default(subscriber, || {
            let _ = tracing::info_span!(target: "checkout::routes", "place_order");
            let _ = tracing::info_span!(target: "lapin::io_loop", "io_loop");
            let _ = tracing::info_span!(target: "amq_protocol_types::flags", "frame");
            let _ = tracing::info_span!(target: "hyper_util::client", "connect");
            let _ = tracing::debug_span!(target: "checkout::routes", "too_fine");
        });
        assert_eq!(*names.lock().expect("names"), ["place_order"]);
    }
}
