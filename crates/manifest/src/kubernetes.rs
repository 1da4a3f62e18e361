//! Kubernetes objects written from the manifest: `apiary export kubernetes` writes the kustomize
//! base in `deploy/k8s/base` (a test keeps the committed files current), so a service added to
//! `apiary.toml` gets its workload, Service, probes and NetworkPolicy by running the export,
//! and the network enforces the architecture the manifest declares.
//!
//! Each Apiary service gets a headless Service named after it (its DNS name resolves to every
//! ready pod: callers and scrapers see each instance), a Deployment when it keeps no state of
//! its own or a one-replica StatefulSet with a volume when it does (SQLite, or carts in
//! memory), probes on `/health/*`, requests and limits, a locked-down security context, the
//! `prometheus.io/*` annotations `prometheus/kubernetes.yml` reads, and a NetworkPolicy that
//! admits only its declared callers (plus the scrapers). Stateless services get a
//! HorizontalPodAutoscaler and a PodDisruptionBudget. The dashboard, flagd, the collector,
//! RabbitMQ and the load generator are workloads of the base too.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::prometheus::{COLLECTOR_METRICS_PORT, DASHBOARD_JOB, RABBITMQ_PROMETHEUS_PORT};
use crate::{DATA_DIR_VAR, HOST_VAR, MANIFEST_VAR, Manifest, PORT_VAR, Service, Store, url_var};

/// The image every Apiary binary ships in (the repository's Dockerfile); overlays set its
/// registry and tag with kustomize's `images`.
pub const APIARY_IMAGE: &str = "apiary";
/// Where the manifest ConfigMap is mounted in the dashboard.
const MANIFEST_MOUNT: &str = "/etc/apiary";
/// The flagd port the services' in-process provider syncs from (flagd's sync gRPC service).
pub const FLAGD_SYNC_PORT: u16 = 8015;
/// OTLP ports of the collector and the dashboard (the standard ones).
const OTLP_GRPC: u16 = 4317;
const OTLP_HTTP: u16 = 4318;
const AMQP_PORT: u16 = 5672;
const DASHBOARD_PORT: u16 = 8080;
const LOAD_CONTROL_PORT: u16 = 8089;
/// Services an autoscaler may scale between these.
const HPA_MIN: u32 = 2;
const HPA_MAX: u32 = 6;

/// Third-party images, pinned: the same versions compose runs (`.env`).
#[derive(Debug, Clone)]
pub struct Images {
    pub flagd: String,
    pub collector: String,
    pub rabbitmq: String,
}

impl Images {
    /// Reads `FLAGD_IMAGE`, `OTEL_COLLECTOR_IMAGE` and `RABBITMQ_IMAGE` from the text of an env
    /// file (`KEY=value` lines, `#` comments), the file compose reads too.
    pub fn from_env_file(text: &str) -> Result<Self, String> {
        let get = |key: &str| {
            text.lines()
                .filter_map(|l| l.trim().split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().trim_matches('"').to_owned())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{key} is not set in the env file"))
        };
        Ok(Self {
            flagd: get("FLAGD_IMAGE")?,
            collector: get("OTEL_COLLECTOR_IMAGE")?,
            rabbitmq: get("RABBITMQ_IMAGE")?,
        })
    }
}

/// What the base is made from besides the manifest: the files it carries into ConfigMaps.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// `apiary.toml` as written (the dashboard reads it, with `APIARY_ADDRESSES=dns`).
    pub manifest_text: &'a str,
    /// The flag file flagd serves (`drills/flags.flagd.json`).
    pub flags: &'a str,
    /// The collector's configuration (`otel/collector.yaml`).
    pub collector: &'a str,
    pub images: Images,
}

/// The base's files: `(file name, contents)`, `kustomization.yaml` first.
pub fn base(m: &Manifest, inputs: &Inputs<'_>) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, docs: Vec<Value>| {
        files.push((name.to_owned(), yaml_stream(&docs)));
    };
    add("namespace.yaml", vec![namespace(m)]);
    add("config.yaml", config(m, inputs));
    for s in &m.services {
        add(&format!("{}.yaml", s.name), service(m, s));
    }
    add("dashboard.yaml", dashboard(m));
    add("flagd.yaml", flagd(m, &inputs.images));
    add("otel-collector.yaml", collector(m, &inputs.images));
    add("rabbitmq.yaml", rabbitmq(m, &inputs.images));
    if m.load.is_some() {
        add("load.yaml", load(m));
    }
    add("network-policies.yaml", network_policies(m));
    let resources: Vec<String> = files.iter().map(|(name, _)| name.clone()).collect();
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": m.stack.namespace,
        "resources": resources,
        "images": [{ "name": APIARY_IMAGE, "newTag": "local" }],
    });
    files.insert(
        0,
        (
            "kustomization.yaml".to_owned(),
            yaml_stream(&[kustomization]),
        ),
    );
    files
}

pub const HEADER: &str =
    "# Written by `apiary export kubernetes` from apiary.toml; do not edit (overlays patch it).\n";

fn yaml_stream(docs: &[Value]) -> String {
    let mut out = String::from(HEADER);
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&serde_yaml::to_string(doc).expect("JSON values always serialise"));
    }
    out
}

fn labels(name: &str, component: &str) -> Value {
    json!({
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": "apiary",
        "app.kubernetes.io/component": component,
    })
}

fn selector(name: &str) -> Value {
    json!({ "app.kubernetes.io/name": name })
}

fn meta(m: &Manifest, name: &str, component: &str) -> Value {
    json!({ "name": name, "namespace": m.stack.namespace, "labels": labels(name, component) })
}

fn namespace(m: &Manifest) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": m.stack.namespace,
            "labels": {
                "app.kubernetes.io/part-of": "apiary",
                // Apiary's own pods meet the restricted profile; RabbitMQ's image starts as root
                // and drops to its user, which only the baseline profile admits.
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    })
}

fn config(m: &Manifest, inputs: &Inputs<'_>) -> Vec<Value> {
    vec![
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(m, "apiary-manifest", "config"),
            "data": { "apiary.toml": inputs.manifest_text },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(m, "apiary-flags", "config"),
            "data": { "flags.flagd.json": inputs.flags },
        }),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(m, "otel-collector", "config"),
            "data": { "config.yaml": inputs.collector },
        }),
        // Development credentials, as in compose: a real deployment replaces this Secret
        // (the production overlay generates it from a file that is not committed).
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta(m, "rabbitmq", "config"),
            "type": "Opaque",
            "stringData": {
                "username": "apiary",
                "password": "apiary",
                "url": format!("amqp://apiary:apiary@rabbitmq:{AMQP_PORT}/%2f?heartbeat=10"),
            },
        }),
    ]
}

/// Whether more than one instance of the service may run: it keeps no state of its own.
pub fn scales_out(s: &Service) -> bool {
    s.store.is_none()
}

fn env(name: &str, value: impl Into<String>) -> Value {
    json!({ "name": name, "value": value.into() })
}

fn telemetry_env(m: &Manifest, service_name: &str) -> Vec<Value> {
    vec![
        json!({ "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } }),
        env("OTEL_SERVICE_NAME", service_name),
        env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://otel-collector:{OTLP_GRPC}"),
        ),
        env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        env(
            "OTEL_RESOURCE_ATTRIBUTES",
            format!(
                "service.namespace={},deployment.environment.name=kubernetes,service.instance.id=$(POD_NAME),k8s.pod.name=$(POD_NAME)",
                m.stack.namespace
            ),
        ),
    ]
}

fn probes(port_name: &str) -> Value {
    json!({
        "startupProbe": {
            "httpGet": { "path": "/health/live", "port": port_name },
            "periodSeconds": 1,
            "failureThreshold": 30,
        },
        "livenessProbe": {
            "httpGet": { "path": "/health/live", "port": port_name },
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": { "path": "/health/ready", "port": port_name },
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 2,
        },
    })
}

fn container_security() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "capabilities": { "drop": ["ALL"] },
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

fn pod_security() -> Value {
    // The image's user (nobody); fsGroup makes the data volume writable for it.
    json!({ "runAsNonRoot": true, "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534 })
}

fn scrape_annotations(port: u16) -> Value {
    json!({
        "prometheus.io/scrape": "true",
        "prometheus.io/port": port.to_string(),
        "prometheus.io/path": "/metrics",
    })
}

/// Requests and limits. The services run in 10-30 MB and idle near zero CPU; the limits leave
/// room for a spike and for the memory-leak drill to be seen before the kernel ends it.
fn resources(memory_limit: &str) -> Value {
    json!({
        "requests": { "cpu": "50m", "memory": "32Mi" },
        "limits": { "cpu": "1", "memory": memory_limit },
    })
}

fn headless_service(m: &Manifest, name: &str, component: &str, ports: &[(&str, u16)]) -> Value {
    named_headless_service(m, name, name, component, ports)
}

/// A headless Service `name` over the pods labelled `app`.
fn named_headless_service(
    m: &Manifest,
    name: &str,
    app: &str,
    component: &str,
    ports: &[(&str, u16)],
) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": name, "namespace": m.stack.namespace, "labels": labels(app, component) },
        "spec": {
            // Headless: the name resolves to every ready pod, so callers and scrapers see each
            // instance (and balance across them) instead of one virtual IP.
            "clusterIP": "None",
            "selector": selector(app),
            "ports": ports.iter().map(|(port_name, port)| json!({
                "name": port_name, "port": port, "targetPort": port_name,
            })).collect::<Vec<_>>(),
        },
    })
}

fn service(m: &Manifest, s: &Service) -> Vec<Value> {
    let mut env_vars = vec![env(HOST_VAR, "0.0.0.0"), env(PORT_VAR, s.port.to_string())];
    env_vars.extend(telemetry_env(m, &s.name));
    for dep in &s.depends_on {
        if let Ok(d) = m.service(dep) {
            env_vars.push(env(&url_var(dep), format!("http://{}:{}", d.name, d.port)));
        }
    }
    env_vars.extend([
        // Every pod behind a downstream's headless Service, balanced over.
        env(apiary_wire::discovery::DISCOVERY_VAR, "dns"),
        env("FLAGD_RESOLVER", "in-process"),
        env("FLAGD_HOST", "flagd"),
        env("FLAGD_PORT", FLAGD_SYNC_PORT.to_string()),
    ]);
    if s.uses_broker() {
        env_vars.push(json!({
            "name": crate::BROKER_URL_VAR,
            "valueFrom": { "secretKeyRef": { "name": "rabbitmq", "key": "url" } },
        }));
    }
    let durable = s.store == Some(Store::Sqlite);
    let mut mounts = vec![json!({ "name": "tmp", "mountPath": "/tmp" })];
    if durable {
        env_vars.push(env(DATA_DIR_VAR, "/data"));
        mounts.push(json!({ "name": "data", "mountPath": "/data" }));
    }
    let mut container = json!({
        "name": s.name,
        "image": APIARY_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": [s.binary_name()],
        "ports": [{ "name": "http", "containerPort": s.port }],
        "env": env_vars,
        "resources": resources("256Mi"),
        "securityContext": container_security(),
        "volumeMounts": mounts,
    });
    merge(&mut container, probes("http"));
    let pod = json!({
        "metadata": {
            "labels": labels(&s.name, "service"),
            "annotations": scrape_annotations(s.port),
        },
        "spec": {
            "securityContext": pod_security(),
            "automountServiceAccountToken": false,
            "terminationGracePeriodSeconds": 15,
            "containers": [container],
            "volumes": [{ "name": "tmp", "emptyDir": {} }],
        },
    });
    let mut docs = vec![headless_service(m, &s.name, "service", &[("http", s.port)])];
    if scales_out(s) {
        docs.push(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(m, &s.name, "service"),
            "spec": {
                // No `replicas`: the autoscaler owns the count (HPA_MIN..HPA_MAX).
                "selector": { "matchLabels": selector(&s.name) },
                "strategy": { "rollingUpdate": { "maxUnavailable": 0, "maxSurge": 1 } },
                "template": pod,
            },
        }));
        docs.push(json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": meta(m, &s.name, "service"),
            "spec": {
                "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": s.name },
                "minReplicas": HPA_MIN,
                "maxReplicas": HPA_MAX,
                "metrics": [{
                    "type": "Resource",
                    "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 70 } },
                }],
                "behavior": { "scaleDown": { "stabilizationWindowSeconds": 120 } },
            },
        }));
        docs.push(json!({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta(m, &s.name, "service"),
            "spec": { "minAvailable": 1, "selector": { "matchLabels": selector(&s.name) } },
        }));
    } else {
        let mut spec = json!({
            // One writer of its state: see the README (Beyond one laptop) for what scaling it
            // would take.
            "replicas": 1,
            "serviceName": s.name,
            "selector": { "matchLabels": selector(&s.name) },
            "template": pod,
        });
        if durable {
            spec["volumeClaimTemplates"] = json!([{
                "metadata": { "name": "data" },
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": { "requests": { "storage": "1Gi" } },
                },
            }]);
        }
        docs.push(json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": meta(m, &s.name, "service"),
            "spec": spec,
        }));
    }
    docs
}

/// Adds `extra`'s keys to `target` (both objects).
fn merge(target: &mut Value, extra: Value) {
    if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
        t.extend(e);
    }
}

/// The dashboard's Service and Deployment name: what the collector's configuration sends to
/// (`dashboard:4317`, as in compose). Its pods are labelled `apiary-dashboard`, the scrape
/// job the rules expect.
pub const DASHBOARD_SERVICE: &str = "dashboard";

fn dashboard(m: &Manifest) -> Vec<Value> {
    let name = DASHBOARD_JOB;
    let mut env_vars = vec![
        env(HOST_VAR, "0.0.0.0"),
        env(PORT_VAR, DASHBOARD_PORT.to_string()),
        env("DASHBOARD_OTLP_GRPC_PORT", OTLP_GRPC.to_string()),
        env("DASHBOARD_OTLP_HTTP_PORT", OTLP_HTTP.to_string()),
        env(MANIFEST_VAR, format!("{MANIFEST_MOUNT}/apiary.toml")),
        // Each service at its own name: its headless Service, which resolves to every pod.
        env(crate::ADDRESSES_VAR, "dns"),
        env(DATA_DIR_VAR, "/data"),
        env(
            "APIARY_BROKER_METRICS_URL",
            format!("http://rabbitmq:{RABBITMQ_PROMETHEUS_PORT}/metrics"),
        ),
        control_token_env(),
        from_control_secret("DASHBOARD_TOKEN", "ui-token"),
        from_control_secret("DASHBOARD_API_KEY", "otlp-api-key"),
    ];
    if m.load.is_some() {
        env_vars.push(env(
            "APIARY_LOAD_URL",
            format!("http://load:{LOAD_CONTROL_PORT}"),
        ));
    }
    let mut container = json!({
        "name": "dashboard",
        "image": APIARY_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["dashboard"],
        "ports": [
            { "name": "http", "containerPort": DASHBOARD_PORT },
            { "name": "otlp-grpc", "containerPort": OTLP_GRPC },
            { "name": "otlp-http", "containerPort": OTLP_HTTP },
        ],
        "env": env_vars,
        // Its stores are bounded (see the README's memory figures); this is their ceiling.
        "resources": {
            "requests": { "cpu": "100m", "memory": "128Mi" },
            "limits": { "cpu": "2", "memory": "512Mi" },
        },
        "securityContext": container_security(),
        "volumeMounts": [
            { "name": "manifest", "mountPath": MANIFEST_MOUNT, "readOnly": true },
            { "name": "data", "mountPath": "/data" },
            { "name": "tmp", "mountPath": "/tmp" },
        ],
    });
    merge(&mut container, probes("http"));
    vec![
        named_headless_service(
            m,
            DASHBOARD_SERVICE,
            name,
            "dashboard",
            &[
                ("http", DASHBOARD_PORT),
                ("otlp-grpc", OTLP_GRPC),
                ("otlp-http", OTLP_HTTP),
            ],
        ),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "name": DASHBOARD_SERVICE, "namespace": m.stack.namespace, "labels": labels(name, "dashboard") },
            "spec": {
                // One: it holds the recent telemetry in memory.
                "replicas": 1,
                "selector": { "matchLabels": selector(name) },
                "strategy": { "type": "Recreate" },
                "template": {
                    "metadata": {
                        "labels": labels(name, "dashboard"),
                        "annotations": scrape_annotations(DASHBOARD_PORT),
                    },
                    "spec": {
                        "securityContext": pod_security(),
                        "automountServiceAccountToken": false,
                        "containers": [container],
                        "volumes": [
                            { "name": "manifest", "configMap": { "name": "apiary-manifest" } },
                            { "name": "data", "emptyDir": {} },
                            { "name": "tmp", "emptyDir": {} },
                        ],
                    },
                },
            },
        }),
    ]
}

fn plain_deployment(
    m: &Manifest,
    name: &str,
    component: &str,
    container: Value,
    volumes: Value,
) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(m, name, component),
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": selector(name) },
            "template": {
                "metadata": { "labels": labels(name, component) },
                "spec": {
                    "securityContext": pod_security(),
                    "automountServiceAccountToken": false,
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    })
}

fn flagd(m: &Manifest, images: &Images) -> Vec<Value> {
    let container = json!({
        "name": "flagd",
        "image": images.flagd,
        // The shipped flags (every fault off) first, then the dashboard's control plane, which
        // takes precedence for every flag it serves: faults set there reach every pod.
        "args": [
            "start",
            "--uri", "file:/etc/flagd/flags.flagd.json",
            "--uri", format!("grpc://{DASHBOARD_SERVICE}:{OTLP_GRPC}"),
        ],
        "ports": [
            { "name": "http", "containerPort": 8013 },
            { "name": "sync", "containerPort": FLAGD_SYNC_PORT },
            { "name": "management", "containerPort": 8014 },
        ],
        "readinessProbe": { "httpGet": { "path": "/readyz", "port": "management" }, "periodSeconds": 5 },
        "livenessProbe": { "httpGet": { "path": "/healthz", "port": "management" }, "periodSeconds": 10 },
        "resources": resources("64Mi"),
        "securityContext": container_security(),
        "volumeMounts": [{ "name": "flags", "mountPath": "/etc/flagd", "readOnly": true }],
    });
    vec![
        headless_service(m, "flagd", "flags", &[("sync", FLAGD_SYNC_PORT)]),
        plain_deployment(
            m,
            "flagd",
            "flags",
            container,
            json!([{ "name": "flags", "configMap": { "name": "apiary-flags" } }]),
        ),
    ]
}

fn collector(m: &Manifest, images: &Images) -> Vec<Value> {
    let name = "otel-collector";
    let container = json!({
        "name": name,
        "image": images.collector,
        "args": ["--config=/etc/otelcol-contrib/config.yaml"],
        "env": [
            env("DEPLOYMENT_ENVIRONMENT", "kubernetes"),
            from_control_secret("APIARY_DASHBOARD_API_KEY", "otlp-api-key"),
        ],
        "ports": [
            { "name": "otlp-grpc", "containerPort": OTLP_GRPC },
            { "name": "otlp-http", "containerPort": OTLP_HTTP },
            { "name": "metrics", "containerPort": COLLECTOR_METRICS_PORT },
            { "name": "health", "containerPort": 13133 },
        ],
        "readinessProbe": { "httpGet": { "path": "/", "port": "health" }, "periodSeconds": 5 },
        "livenessProbe": { "httpGet": { "path": "/", "port": "health" }, "periodSeconds": 10 },
        // memory_limiter in the configuration keeps it under this.
        "resources": {
            "requests": { "cpu": "100m", "memory": "128Mi" },
            "limits": { "cpu": "1", "memory": "512Mi" },
        },
        "securityContext": container_security(),
        "volumeMounts": [{ "name": "config", "mountPath": "/etc/otelcol-contrib", "readOnly": true }],
    });
    let mut deployment = plain_deployment(
        m,
        name,
        "collector",
        container,
        json!([{ "name": "config", "configMap": { "name": name } }]),
    );
    deployment["spec"]["template"]["metadata"]["annotations"] =
        scrape_annotations(COLLECTOR_METRICS_PORT);
    vec![
        headless_service(
            m,
            name,
            "collector",
            &[
                ("otlp-grpc", OTLP_GRPC),
                ("otlp-http", OTLP_HTTP),
                ("metrics", COLLECTOR_METRICS_PORT),
            ],
        ),
        deployment,
    ]
}

fn rabbitmq(m: &Manifest, images: &Images) -> Vec<Value> {
    let secret = |key: &str| json!({ "secretKeyRef": { "name": "rabbitmq", "key": key } });
    let container = json!({
        "name": "rabbitmq",
        "image": images.rabbitmq,
        // `args`, not `command`: the image's entrypoint still runs (it drops to its user).
        "args": ["sh", "-c", "rabbitmq-plugins enable --offline rabbitmq_prometheus && exec rabbitmq-server"],
        "env": [
            { "name": "RABBITMQ_DEFAULT_USER", "valueFrom": secret("username") },
            { "name": "RABBITMQ_DEFAULT_PASS", "valueFrom": secret("password") },
            // Queue statistics every second (RabbitMQ's default is 5 s): the dashboard's resolution.
            { "name": "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "value": "-rabbit collect_statistics_interval 1000" },
        ],
        "ports": [
            { "name": "amqp", "containerPort": AMQP_PORT },
            { "name": "metrics", "containerPort": RABBITMQ_PROMETHEUS_PORT },
        ],
        "readinessProbe": { "tcpSocket": { "port": "amqp" }, "periodSeconds": 5 },
        "livenessProbe": { "exec": { "command": ["rabbitmq-diagnostics", "-q", "ping"] }, "periodSeconds": 30, "timeoutSeconds": 10 },
        "resources": {
            "requests": { "cpu": "100m", "memory": "256Mi" },
            "limits": { "cpu": "1", "memory": "512Mi" },
        },
        // The entrypoint starts as root to own the data volume, then drops to its user.
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"], "add": ["CHOWN", "SETUID", "SETGID", "DAC_OVERRIDE"] },
            "seccompProfile": { "type": "RuntimeDefault" },
        },
        "volumeMounts": [{ "name": "data", "mountPath": "/var/lib/rabbitmq" }],
    });
    vec![
        headless_service(
            m,
            "rabbitmq",
            "broker",
            &[("amqp", AMQP_PORT), ("metrics", RABBITMQ_PROMETHEUS_PORT)],
        ),
        json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": meta(m, "rabbitmq", "broker"),
            "spec": {
                "replicas": 1,
                "serviceName": "rabbitmq",
                "selector": { "matchLabels": selector("rabbitmq") },
                "template": {
                    "metadata": {
                        "labels": labels("rabbitmq", "broker"),
                        "annotations": scrape_annotations(RABBITMQ_PROMETHEUS_PORT),
                    },
                    "spec": {
                        "automountServiceAccountToken": false,
                        "containers": [container],
                    },
                },
                "volumeClaimTemplates": [{
                    "metadata": { "name": "data" },
                    "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "1Gi" } } },
                }],
            },
        }),
    ]
}

/// `name` from a key of the `apiary-control` Secret, which the operator creates
/// (deploy/k8s/README.md): the control token (the dashboard and the load generator share
/// it), the dashboard's UI token and its OTLP key (which the collector sends).
fn from_control_secret(name: &str, key: &str) -> Value {
    json!({
        "name": name,
        "valueFrom": { "secretKeyRef": { "name": "apiary-control", "key": key, "optional": true } },
    })
}

fn control_token_env() -> Value {
    from_control_secret(crate::CONTROL_TOKEN_VAR, "token")
}

fn load(m: &Manifest) -> Vec<Value> {
    let Some(l) = &m.load else { return Vec::new() };
    let target = m
        .service(l.target_service())
        .map(|t| format!("http://{}:{}", t.name, t.port))
        .unwrap_or_default();
    let mut env_vars = telemetry_env(m, "load");
    env_vars.push(control_token_env());
    let container = json!({
        "name": "load",
        "image": APIARY_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": [l.binary_name()],
        "args": [
            "--target", target,
            "--rate", l.rate.to_string(),
            "--duration", "forever",
            "--control", format!("0.0.0.0:{LOAD_CONTROL_PORT}"),
            "--quiet",
        ],
        "ports": [{ "name": "control", "containerPort": LOAD_CONTROL_PORT }],
        "env": env_vars,
        "resources": resources("128Mi"),
        "securityContext": container_security(),
    });
    vec![
        headless_service(m, "load", "load", &[("control", LOAD_CONTROL_PORT)]),
        plain_deployment(m, "load", "load", container, json!([])),
    ]
}

/// Pods of these names, in this namespace.
fn from_apps(names: &BTreeSet<String>) -> Vec<Value> {
    names
        .iter()
        .map(|n| json!({ "podSelector": { "matchLabels": selector(n) } }))
        .collect()
}

/// Prometheus wherever it runs (any namespace), by its conventional name label.
fn from_prometheus() -> Value {
    json!({
        "namespaceSelector": {},
        "podSelector": { "matchLabels": { "app.kubernetes.io/name": "prometheus" } },
    })
}

fn policy(m: &Manifest, name: &str, rules: Vec<Value>) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(m, name, "network-policy"),
        "spec": {
            "podSelector": { "matchLabels": selector(name) },
            "policyTypes": ["Ingress"],
            "ingress": rules,
        },
    })
}

fn rule(from: Vec<Value>, ports: &[&str]) -> Value {
    json!({
        "from": from,
        "ports": ports.iter().map(|p| json!({ "protocol": "TCP", "port": p })).collect::<Vec<_>>(),
    })
}

/// The pods that call `s`: the services that declare it in `depends_on`, and the load
/// generator when `s` is the load's target. Its NetworkPolicy admits these and the scrapers
/// (the dashboard, Prometheus); everything else in the namespace is denied by default.
fn callers(m: &Manifest, s: &Service) -> BTreeSet<String> {
    let mut from: BTreeSet<String> = m
        .services
        .iter()
        .filter(|c| c.depends_on.contains(&s.name))
        .map(|c| c.name.clone())
        .collect();
    if m.load
        .as_ref()
        .is_some_and(|l| l.target_service() == s.name)
    {
        from.insert("load".to_owned());
    }
    from
}

fn network_policies(m: &Manifest) -> Vec<Value> {
    let scrapers: BTreeSet<String> = [DASHBOARD_JOB.to_owned()].into();
    let mut docs = vec![json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(m, "default-deny-ingress", "network-policy"),
        "spec": { "podSelector": {}, "policyTypes": ["Ingress"] },
    })];
    for s in &m.services {
        let mut rules = Vec::new();
        let from = callers(m, s);
        if !from.is_empty() {
            rules.push(rule(from_apps(&from), &["http"]));
        }
        let mut scraper_from = from_apps(&scrapers);
        scraper_from.push(from_prometheus());
        rules.push(rule(scraper_from, &["http"]));
        docs.push(policy(m, &s.name, rules));
    }
    let apiary_pods =
        || json!({ "podSelector": { "matchLabels": { "app.kubernetes.io/part-of": "apiary" } } });
    // The dashboard's UI from anywhere (an ingress controller lives in another namespace);
    // OTLP from the collector; its metrics for Prometheus.
    let collector: BTreeSet<String> = ["otel-collector".to_owned()].into();
    docs.push(policy(
        m,
        DASHBOARD_JOB,
        vec![
            json!({ "ports": [{ "protocol": "TCP", "port": "http" }] }),
            rule(from_apps(&collector), &["otlp-grpc", "otlp-http"]),
            // flagd syncs the fault flags from the control plane (gRPC, beside OTLP).
            rule(from_apps(&["flagd".to_owned()].into()), &["otlp-grpc"]),
        ],
    ));
    // flagd's sync stream: every Apiary pod.
    docs.push(policy(
        m,
        "flagd",
        vec![rule(vec![apiary_pods()], &["sync"])],
    ));
    // The collector: OTLP from every Apiary pod; its own metrics for Prometheus.
    docs.push(policy(
        m,
        "otel-collector",
        vec![
            rule(vec![apiary_pods()], &["otlp-grpc", "otlp-http"]),
            rule(vec![from_prometheus()], &["metrics"]),
        ],
    ));
    // The broker: AMQP from the services that publish or consume; metrics for the scrapers.
    let messaging: BTreeSet<String> = m
        .services
        .iter()
        .filter(|s| s.uses_broker())
        .map(|s| s.name.clone())
        .collect();
    let mut metrics_from = from_apps(&scrapers);
    metrics_from.push(from_prometheus());
    docs.push(policy(
        m,
        "rabbitmq",
        vec![
            rule(from_apps(&messaging), &["amqp"]),
            rule(metrics_from, &["metrics"]),
        ],
    ));
    if m.load.is_some() {
        // The load generator's control API: the dashboard drives traffic spikes.
        docs.push(policy(
            m,
            "load",
            vec![rule(from_apps(&scrapers), &["control"])],
        ));
    }
    docs
}
