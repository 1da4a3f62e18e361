//! Configuration from the environment; a malformed value stops start-up naming the variable.

use secrecy::SecretString;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use apiary_chassis::env::{self, EnvError, ProcessEnv, Source};

use crate::monitor::Thresholds;
use crate::otlp::http::HttpLimits;
use crate::store::Limits;

/// `Debug` prints no token or key (they are `SecretString`s).
#[derive(Debug, Clone)]
pub struct Config {
    /// `APIARY_HOST` (127.0.0.1). Any other address turns on the token and the OTLP key.
    pub host: IpAddr,
    /// `APIARY_PORT` (8080): UI and API.
    pub port: u16,
    /// `DASHBOARD_OTLP_GRPC_PORT` (4317).
    pub otlp_grpc_port: u16,
    /// `DASHBOARD_OTLP_HTTP_PORT` (4318).
    pub otlp_http_port: u16,
    /// `DASHBOARD_MAX_SPANS`, `_MAX_LOGS`, `_MAX_METRIC_POINTS`, `_MAX_ATTRIBUTES`, `_MAX_VALUE_LEN`,
    /// `_MAX_NAME_LEN`, `_MAX_SPAN_BYTES`, `_MAX_LOG_BYTES`.
    pub limits: Limits,
    /// `DASHBOARD_OTLP_BODY_LIMIT` bytes (64 MiB), after decompression.
    pub body_limit: usize,
    /// `DASHBOARD_OTLP_MAX_IN_FLIGHT` (32) OTLP/HTTP requests at once,
    /// `DASHBOARD_OTLP_IN_FLIGHT_BYTES` (256 MiB) of their bodies held at once,
    /// `DASHBOARD_OTLP_READ_TIMEOUT_MS` (10,000) to receive a body. Its `body_limit` is
    /// `body_limit` above (start-up copies it again, so tests may set either).
    pub otlp_http: HttpLimits,
    /// `DASHBOARD_INGEST_BUDGET` items per second (2,000,000).
    pub ingest_budget: u64,
    /// `DASHBOARD_SCRAPE_INTERVAL_MS` (500): how often targets are scraped and probed (series
    /// points stay one second long).
    pub scrape_interval: Duration,
    /// `DASHBOARD_ERROR_RATIO` (0.05), `DASHBOARD_LATENCY_OBJECTIVE_MS` (500), `DASHBOARD_MIN_RPS` (0.2).
    pub thresholds: Thresholds,
    /// `APIARY_MANIFEST`: the stack manifest whose services are scraped and probed.
    pub manifest: Option<PathBuf>,
    /// `APIARY_ADDRESSES` (`host` or `dns`): overrides the manifest's `[stack] addresses`, so
    /// compose and Kubernetes find each service at its own name with the manifest unchanged.
    pub addresses: Option<apiary_manifest::Addresses>,
    /// `DASHBOARD_TOKEN`: the UI/API token off loopback (random when unset).
    pub token: Option<SecretString>,
    /// `DASHBOARD_API_KEY`: the OTLP key off loopback (the token when unset).
    pub api_key: Option<SecretString>,
    /// `DASHBOARD_UNSECURED` or `--unsecured`: no token or key even off loopback.
    pub unsecured: bool,
    /// `DASHBOARD_MAX_EVENT_STREAMS` (64): `/api/events` streams open at once (503 past it).
    pub max_event_streams: usize,
    /// `DASHBOARD_ALLOWED_HOSTS`: comma-separated host names the UI and API answer to besides
    /// loopback and the bound address (`*`: any). See [`crate::security::AllowedHosts`].
    pub allowed_hosts: Vec<String>,
    /// `DASHBOARD_SITE_ROOT`: the UI bundle built by apiary-ui-build (default: `site` next to the
    /// binary's profile directory, i.e. `target/site`).
    pub site_root: Option<PathBuf>,
    /// `APIARY_DATA_DIR`: where the fault flag file, the audit log, the control token and drill
    /// reports live (default: the manifest's data directory).
    pub data_dir: Option<PathBuf>,
    /// `APIARY_CONTROL_TOKEN`: the bearer token every fault, drill and load change needs, even on
    /// loopback (random, written to `<data_dir>/control.token`, when unset).
    pub control_token: Option<SecretString>,
    /// `APIARY_LOAD_URL`: the load generator's control API (traffic spikes, `/api/load`).
    pub load_url: Option<String>,
    /// `APIARY_LAUNCHER_URL`: the control API of the launcher running the stack (live
    /// scaling, `/api/scale`).
    pub launcher_url: Option<String>,
    /// `APIARY_BROKER_METRICS_URL`: the message broker's Prometheus endpoint (queue depths,
    /// consumers, dead letters), set by `apiary up` when it runs the broker.
    pub broker_metrics_url: Option<String>,
    /// `DASHBOARD_FORWARD_OTLP`: an external collector's OTLP/HTTP base URL
    /// (`http://127.0.0.1:4319`); every export the dashboard accepts is sent there too.
    pub forward_otlp: Option<String>,
}

fn ratio(src: &impl Source, var: &str, default: f64) -> Result<f64, EnvError> {
    let v = env::parse_or(src, var, default, "a number between 0 and 1")?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(EnvError {
            var: var.into(),
            expected: "a number between 0 and 1".into(),
            found: v.to_string(),
        })
    }
}

impl Config {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_source(&ProcessEnv)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let d = Limits::default();
        let h = HttpLimits::default();
        let body_limit = env::count_or(src, "DASHBOARD_OTLP_BODY_LIMIT", h.body_limit)?;
        let (host, port) = apiary_chassis::config::listen_address(src, 8080)?;
        Ok(Self {
            host,
            port,
            otlp_grpc_port: env::port_or(src, "DASHBOARD_OTLP_GRPC_PORT", 4317)?,
            otlp_http_port: env::port_or(src, "DASHBOARD_OTLP_HTTP_PORT", 4318)?,
            limits: Limits {
                max_spans: env::count_or(src, "DASHBOARD_MAX_SPANS", d.max_spans)?,
                max_logs: env::count_or(src, "DASHBOARD_MAX_LOGS", d.max_logs)?,
                max_metric_points: env::count_or(
                    src,
                    "DASHBOARD_MAX_METRIC_POINTS",
                    d.max_metric_points,
                )?,
                max_attributes: env::count_or(src, "DASHBOARD_MAX_ATTRIBUTES", d.max_attributes)?,
                max_value_len: env::count_or(src, "DASHBOARD_MAX_VALUE_LEN", d.max_value_len)?,
                max_name_len: env::count_or(src, "DASHBOARD_MAX_NAME_LEN", d.max_name_len)?,
                max_span_bytes: env::count_or(src, "DASHBOARD_MAX_SPAN_BYTES", d.max_span_bytes)?,
                max_log_bytes: env::count_or(src, "DASHBOARD_MAX_LOG_BYTES", d.max_log_bytes)?,
            },
            body_limit,
            otlp_http: HttpLimits {
                body_limit,
                max_in_flight: env::count_or(src, "DASHBOARD_OTLP_MAX_IN_FLIGHT", h.max_in_flight)?,
                in_flight_bytes: env::count_or(
                    src,
                    "DASHBOARD_OTLP_IN_FLIGHT_BYTES",
                    h.in_flight_bytes,
                )?,
                read_timeout: env::millis_or(
                    src,
                    "DASHBOARD_OTLP_READ_TIMEOUT_MS",
                    h.read_timeout,
                )?,
            },
            ingest_budget: env::count_or(src, "DASHBOARD_INGEST_BUDGET", 2_000_000)? as u64,
            scrape_interval: env::millis_or(
                src,
                "DASHBOARD_SCRAPE_INTERVAL_MS",
                Duration::from_millis(500),
            )?,
            thresholds: Thresholds {
                error_ratio: ratio(src, "DASHBOARD_ERROR_RATIO", 0.05)?,
                latency_objective_ms: env::parse_or(
                    src,
                    "DASHBOARD_LATENCY_OBJECTIVE_MS",
                    500.0,
                    "milliseconds, e.g. 500",
                )?,
                min_rps: env::parse_or(
                    src,
                    "DASHBOARD_MIN_RPS",
                    0.2,
                    "requests per second, e.g. 0.2",
                )?,
                memory_mib: env::parse_or(
                    src,
                    "DASHBOARD_MEMORY_BUDGET_MIB",
                    96.0,
                    "mebibytes, e.g. 96",
                )?,
                restart_hold_s: env::parse_or(
                    src,
                    "DASHBOARD_RESTART_HOLD_S",
                    10.0,
                    "seconds, e.g. 10",
                )?,
            },
            data_dir: env::raw(src, "APIARY_DATA_DIR").map(PathBuf::from),
            control_token: env::raw(src, "APIARY_CONTROL_TOKEN").map(SecretString::from),
            load_url: env::raw(src, "APIARY_LOAD_URL"),
            launcher_url: env::raw(src, "APIARY_LAUNCHER_URL"),
            broker_metrics_url: env::raw(src, "APIARY_BROKER_METRICS_URL"),
            forward_otlp: match env::raw(src, "DASHBOARD_FORWARD_OTLP") {
                Some(_) => Some(env::url_or(src, "DASHBOARD_FORWARD_OTLP", "")?),
                None => None,
            },
            manifest: env::raw(src, "APIARY_MANIFEST").map(PathBuf::from),
            addresses: match env::raw(src, apiary_manifest::ADDRESSES_VAR) {
                Some(_) => Some(env::parse_or(
                    src,
                    apiary_manifest::ADDRESSES_VAR,
                    apiary_manifest::Addresses::Host,
                    "host or dns",
                )?),
                None => None,
            },
            token: env::raw(src, "DASHBOARD_TOKEN").map(SecretString::from),
            api_key: env::raw(src, "DASHBOARD_API_KEY").map(SecretString::from),
            unsecured: env::bool_or(src, "DASHBOARD_UNSECURED", false)?,
            max_event_streams: env::count_or(src, "DASHBOARD_MAX_EVENT_STREAMS", 64)?,
            allowed_hosts: env::raw(src, "DASHBOARD_ALLOWED_HOSTS")
                .map(|v| {
                    v.split(',')
                        .map(|n| n.trim().to_owned())
                        .filter(|n| !n.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            site_root: env::raw(src, "DASHBOARD_SITE_ROOT").map(PathBuf::from),
        })
    }

    /// Loopback, ports 0, no manifest: what tests use.
    pub fn for_tests() -> Self {
        let mut c = Self::from_source(&[("X", "")]).expect("the defaults parse");
        c.port = 0;
        c.otlp_grpc_port = 0;
        c.otlp_http_port = 0;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ports_on_loopback() {
        let c = Config::from_source(&[("X", "")]).expect("defaults");
        assert_eq!(
            (c.port, c.otlp_grpc_port, c.otlp_http_port),
            (8080, 4317, 4318)
        );
        assert!(c.host.is_loopback());
        assert_eq!(c.body_limit, 64 * 1024 * 1024);
    }

    #[test]
    fn malformed_values_name_the_variable() {
        for (var, value) in [
            ("DASHBOARD_MAX_SPANS", "lots"),
            ("DASHBOARD_ERROR_RATIO", "5"),
            ("DASHBOARD_OTLP_HTTP_PORT", "-1"),
            ("DASHBOARD_UNSECURED", "kinda"),
            ("DASHBOARD_OTLP_READ_TIMEOUT_MS", "soon"),
            ("DASHBOARD_MAX_SPAN_BYTES", "-5"),
            ("APIARY_ADDRESSES", "consul"),
        ] {
            assert_eq!(
                Config::from_source(&[(var, value)]).expect_err(var).var,
                var
            );
        }
    }

    #[test]
    fn addresses_follow_the_manifest_unless_told() {
        assert_eq!(
            Config::from_source(&[("X", "")]).expect("config").addresses,
            None
        );
        assert_eq!(
            Config::from_source(&[("APIARY_ADDRESSES", "dns")])
                .expect("config")
                .addresses,
            Some(apiary_manifest::Addresses::Dns)
        );
    }

    #[test]
    fn debug_never_prints_a_token_or_key() {
        let c = Config::from_source(&[
            ("DASHBOARD_TOKEN", "tok3n-value"),
            ("DASHBOARD_API_KEY", "k3y-value"),
            ("APIARY_CONTROL_TOKEN", "c0ntrol-value"),
        ])
        .expect("config");
        let shown = format!("{c:?}");
        for secret in ["tok3n-value", "k3y-value", "c0ntrol-value"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        use secrecy::ExposeSecret;
        assert_eq!(
            c.token.as_ref().map(|t| t.expose_secret()),
            Some("tok3n-value")
        );
    }

    #[test]
    fn the_bounds_of_issue_13_are_read_from_the_environment() {
        let c = Config::from_source(&[
            ("DASHBOARD_OTLP_BODY_LIMIT", "1000"),
            ("DASHBOARD_OTLP_MAX_IN_FLIGHT", "3"),
            ("DASHBOARD_OTLP_IN_FLIGHT_BYTES", "4000"),
            ("DASHBOARD_OTLP_READ_TIMEOUT_MS", "250"),
            ("DASHBOARD_MAX_NAME_LEN", "32"),
            ("DASHBOARD_MAX_SPAN_BYTES", "5000"),
            ("DASHBOARD_MAX_LOG_BYTES", "6000"),
            ("DASHBOARD_MAX_EVENT_STREAMS", "2"),
            ("DASHBOARD_ALLOWED_HOSTS", " dash.example, ,other.example "),
        ])
        .expect("config");
        assert_eq!(
            c.otlp_http,
            HttpLimits {
                body_limit: 1000,
                max_in_flight: 3,
                in_flight_bytes: 4000,
                read_timeout: Duration::from_millis(250),
            }
        );
        assert_eq!(
            (
                c.limits.max_name_len,
                c.limits.max_span_bytes,
                c.limits.max_log_bytes
            ),
            (32, 5000, 6000)
        );
        assert_eq!(c.max_event_streams, 2);
        assert_eq!(c.allowed_hosts, ["dash.example", "other.example"]);
    }
}
