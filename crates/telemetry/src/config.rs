//! Telemetry configuration from the standard `OTEL_*` variables (plus Apiary's log settings).
//!
//! The exporter crate reads endpoint, headers, timeout and compression itself; this module reads
//! what decides *how the pipeline is assembled*, and validates the variables whose malformed
//! values the SDK would otherwise ignore with a warning, so that start-up stops instead.

use std::time::Duration;

use crate::export_queue::QueueConfig;
use apiary_env::{self as env, EnvError, Source};

/// OTLP transport, from `OTEL_EXPORTER_OTLP_PROTOCOL` (`OTEL_EXPORTER_OTLP_{TRACES,LOGS}_PROTOCOL`
/// are honoured by the exporter for the encoding of HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

/// How the console output looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default; what `apiary up` interleaves).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    /// `OTEL_SDK_DISABLED=true`: no spans or logs are exported (console logs and `/metrics` stay).
    pub sdk_disabled: bool,
    /// `OTEL_SERVICE_NAME`, overriding the service's own name.
    pub service_name: Option<String>,
    pub protocol: Protocol,
    /// `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY`.
    pub traces_queue: QueueConfig,
    /// `OTEL_BLRP_MAX_QUEUE_SIZE`, `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BLRP_SCHEDULE_DELAY`.
    pub logs_queue: QueueConfig,
    /// `OTEL_BSP_EXPORT_TIMEOUT` bounds the final flush at shutdown (default 5 s).
    pub shutdown_timeout: Duration,
    /// `RUST_LOG` directives for the console and the log export (default `info`).
    pub log_filter: String,
    /// `APIARY_LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
}

const SAMPLERS: &[&str] = &[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
];

impl TelemetryConfig {
    pub fn from_env(src: &impl Source) -> Result<Self, EnvError> {
        let protocol = match env::raw(src, "OTEL_EXPORTER_OTLP_PROTOCOL").as_deref() {
            None | Some("grpc") => Protocol::Grpc,
            Some("http/protobuf") => Protocol::HttpProtobuf,
            Some("http/json") => Protocol::HttpJson,
            Some(other) => {
                return Err(EnvError {
                    var: "OTEL_EXPORTER_OTLP_PROTOCOL".into(),
                    expected: "grpc, http/protobuf or http/json".into(),
                    found: other.into(),
                });
            }
        };
        validate_sampler(src)?;
        let defaults = QueueConfig::default();
        let queue = |prefix: &str| -> Result<QueueConfig, EnvError> {
            let max_queue_size = env::count_or(
                src,
                &format!("{prefix}_MAX_QUEUE_SIZE"),
                defaults.max_queue_size,
            )?;
            let batch_var = format!("{prefix}_MAX_EXPORT_BATCH_SIZE");
            let max_export_batch_size = env::count_or(
                src,
                &batch_var,
                defaults.max_export_batch_size.min(max_queue_size),
            )?;
            if max_export_batch_size > max_queue_size {
                return Err(EnvError {
                    var: batch_var,
                    expected: format!("at most the queue size ({max_queue_size})"),
                    found: max_export_batch_size.to_string(),
                });
            }
            let scheduled_delay = env::millis_or(
                src,
                &format!("{prefix}_SCHEDULE_DELAY"),
                defaults.scheduled_delay,
            )?;
            Ok(QueueConfig {
                max_queue_size,
                max_export_batch_size,
                scheduled_delay,
            })
        };
        let log_format = match env::raw(src, "APIARY_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(EnvError {
                    var: "APIARY_LOG_FORMAT".into(),
                    expected: "text or json".into(),
                    found: other.into(),
                });
            }
        };
        let log_filter = env::raw(src, "RUST_LOG").unwrap_or_else(|| "info".to_owned());
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            return Err(EnvError {
                var: "RUST_LOG".into(),
                expected: "tracing filter directives, e.g. info,catalog=debug".into(),
                found: log_filter,
            });
        }
        Ok(Self {
            sdk_disabled: env::bool_or(src, "OTEL_SDK_DISABLED", false)?,
            service_name: env::raw(src, "OTEL_SERVICE_NAME"),
            protocol,
            traces_queue: queue("OTEL_BSP")?,
            logs_queue: queue("OTEL_BLRP")?,
            shutdown_timeout: env::millis_or(
                src,
                "OTEL_BSP_EXPORT_TIMEOUT",
                Duration::from_secs(5),
            )?,
            log_filter,
            log_format,
        })
    }
}

fn validate_sampler(src: &impl Source) -> Result<(), EnvError> {
    let Some(sampler) = env::raw(src, "OTEL_TRACES_SAMPLER") else {
        return Ok(());
    };
    if !SAMPLERS.contains(&sampler.as_str()) {
        return Err(EnvError {
            var: "OTEL_TRACES_SAMPLER".into(),
            expected: SAMPLERS.join(", "),
            found: sampler,
        });
    }
    if sampler.ends_with("traceidratio")
        && let Some(arg) = env::raw(src, "OTEL_TRACES_SAMPLER_ARG")
        && !arg.parse::<f64>().is_ok_and(|r| (0.0..=1.0).contains(&r))
    {
        return Err(EnvError {
            var: "OTEL_TRACES_SAMPLER_ARG".into(),
            expected: "a ratio between 0 and 1".into(),
            found: arg,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_grpc_with_half_second_batches() {
        let cfg = TelemetryConfig::from_env(&[("X", "")]).expect("defaults");
        assert_eq!(cfg.protocol, Protocol::Grpc);
        assert!(!cfg.sdk_disabled);
        assert_eq!(cfg.traces_queue.scheduled_delay, Duration::from_millis(500));
        assert_eq!(cfg.log_format, LogFormat::Text);
    }

    #[test]
    fn standard_variables_are_read() {
        let cfg = TelemetryConfig::from_env(&[
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16"),
            ("OTEL_SERVICE_NAME", "renamed"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ])
        .expect("valid");
        assert!(cfg.sdk_disabled);
        assert_eq!(cfg.protocol, Protocol::HttpProtobuf);
        assert_eq!(cfg.traces_queue.max_queue_size, 64);
        assert_eq!(cfg.traces_queue.max_export_batch_size, 16);
        assert_eq!(cfg.service_name.as_deref(), Some("renamed"));
    }

    #[test]
    fn malformed_values_stop_with_the_variable_named() {
        for (var, value) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
            ("OTEL_SDK_DISABLED", "sometimes"),
            ("OTEL_TRACES_SAMPLER", "most"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "-1"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "1s"),
            ("APIARY_LOG_FORMAT", "xml"),
            ("RUST_LOG", "info,[[["),
        ] {
            let err = TelemetryConfig::from_env(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, var);
        }
        let err = TelemetryConfig::from_env(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ])
        .expect_err("ratio above 1");
        assert_eq!(err.var, "OTEL_TRACES_SAMPLER_ARG");
        let err = TelemetryConfig::from_env(&[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "8"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "9"),
        ])
        .expect_err("batch above queue");
        assert_eq!(err.var, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
    }
}
