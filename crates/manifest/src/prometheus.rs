//! Prometheus files written from the manifest, so the scrape targets and the SLO objectives
//! have one source of truth: `apiary export prometheus-config` and `apiary export slo-rules`
//! print them; `prometheus/prometheus.yml` and `prometheus/rules/slo-objectives.rules.yml` are
//! their committed output (a test keeps them current).

use std::fmt::Write as _;

use crate::Manifest;
use crate::slo::Slo;

/// The `job` of the Apiary dashboard's own `/metrics`.
pub const DASHBOARD_JOB: &str = "apiary-dashboard";
/// Ports of the infrastructure containers in compose (their images' defaults).
pub const COLLECTOR_METRICS_PORT: u16 = 8888;
pub const RABBITMQ_PROMETHEUS_PORT: u16 = 15692;
/// What the dashboard listens on when the manifest has no `[dashboard]`.
const DEFAULT_DASHBOARD_PORT: u16 = 8080;

/// Where the scrape targets live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// On the compose network: each service's every replica (the addresses `<name>` resolves
    /// to, on its port), the dashboard at `dashboard:<port>`, the collector and RabbitMQ at
    /// their images' ports.
    Compose,
    /// On this machine, as `apiary up` runs the stack: everything at `[stack] host` on the
    /// manifest's ports (the private broker's Prometheus port; no collector).
    Local,
}

/// `prometheus.yml`: a job per service (the job is the service's name), the dashboard, the
/// collector (compose) and the broker.
pub fn scrape_config(m: &Manifest, network: Network) -> String {
    let (title, collector) = match network {
        Network::Compose => (
            "# Prometheus for compose: one job per service of apiary.toml (job = the service, so the\n\
             # rules and Grafana dashboards group by it; every replica, found by DNS), plus the Apiary\n\
             # dashboard, the collector and RabbitMQ. Written by `apiary export prometheus-config`\n\
             # from apiary.toml; do not edit.\n\
             # Kubernetes: kubernetes.yml (pod discovery, the same job names).\n",
            Some(format!("otel-collector:{COLLECTOR_METRICS_PORT}")),
        ),
        Network::Local => (
            "# Prometheus for the stack `apiary up` runs on this machine, written by\n\
             # `apiary export prometheus-config --local`: one job per service (job = the service),\n\
             # the Apiary dashboard and the private broker. Put the rules/ directory beside it.\n",
            None,
        ),
    };
    let host = |name: &str| match network {
        Network::Compose => name.to_owned(),
        Network::Local => m.stack.host.clone(),
    };
    let mut out = format!(
        "{title}global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\n  external_labels:\n    \
         stack: apiary\n\nrule_files:\n  - rules/*.rules.yml\n\nscrape_configs:\n"
    );
    let job = |out: &mut String, name: &str, target: &str| {
        let _ = write!(
            out,
            "  - job_name: {name}\n    static_configs:\n      - targets: [\"{target}\"]\n"
        );
    };
    for s in &m.services {
        match network {
            // Every replica: each address the service's name resolves to is a target.
            Network::Compose => {
                let _ = write!(
                    out,
                    "  - job_name: {0}\n    dns_sd_configs:\n      - names: [\"{0}\"]\n        type: A\n        port: {1}\n        refresh_interval: 5s\n",
                    s.name, s.port
                );
            }
            Network::Local => job(&mut out, &s.name, &format!("{}:{}", host(&s.name), s.port)),
        }
    }
    let dashboard_port = m
        .dashboard
        .as_ref()
        .map_or(DEFAULT_DASHBOARD_PORT, |d| d.port);
    job(
        &mut out,
        DASHBOARD_JOB,
        &format!("{}:{dashboard_port}", host("dashboard")),
    );
    if let Some(collector) = collector {
        job(&mut out, "otel-collector", &collector);
    }
    let broker = match (network, &m.broker) {
        (_, None) => None,
        (Network::Compose, Some(_)) => Some(format!("rabbitmq:{RABBITMQ_PROMETHEUS_PORT}")),
        (Network::Local, Some(b)) if b.private() => {
            Some(format!("{}:{}", m.stack.host, b.prometheus_port))
        }
        // An existing broker: its metrics are wherever its owner put them.
        (Network::Local, Some(_)) => None,
    };
    if let Some(broker) = broker {
        job(&mut out, "rabbitmq", &broker);
        // Per-queue depth and consumers (the aggregated endpoint above sums over queues).
        let _ = write!(
            out,
            "  - job_name: rabbitmq-queues\n    metrics_path: /metrics/detailed\n    params:\n      \
             family: [queue_coarse_metrics, queue_consumer_count]\n    static_configs:\n      \
             - targets: [\"{broker}\"]\n"
        );
    }
    out
}

/// The per-service objectives `prometheus/rules/slo.rules.yml` reads:
/// `apiary:slo:objective{job, slo}` and `apiary:slo_latency:threshold{job, le}`.
pub fn slo_rules(m: &Manifest) -> String {
    let mut out = String::from(
        "# Per-service SLO objectives for slo.rules.yml, from apiary.toml's [slo] and each\n\
         # service's `slo = { ... }`. Written by `apiary export slo-rules`; do not edit.\n\
         # availability: share of requests without a 5xx; latency: share within the threshold,\n\
         # whose `le` is one of http_server_request_duration_seconds' bucket bounds.\n\
         groups:\n  \
           - name: apiary-slo-objectives\n    \
             rules:\n",
    );
    for s in &m.services {
        let slo: Slo = m.slo(s);
        let le = slo.latency_le();
        let _ = write!(
            out,
            "      - record: apiary:slo:objective\n        expr: vector({})\n        labels: {{job: {name}, slo: availability}}\n\
             \x20     - record: apiary:slo:objective\n        expr: vector({})\n        labels: {{job: {name}, slo: latency}}\n\
             \x20     - record: apiary:slo_latency:threshold\n        expr: vector({le})\n        labels: {{job: {name}, le: \"{le}\"}}\n",
            slo.availability,
            slo.latency,
            name = s.name,
        );
    }
    out
}
