//! The repository's deployment files agree with the stack manifest: the same services, ports
//! and downstream URLs everywhere. (They cannot be run here; they are checked instead.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use apiary_manifest::{Manifest, url_var};
use serde_yaml::Value;

/// Infrastructure containers that are not Apiary services.
const INFRA: &[&str] = &[
    "otel-collector",
    "flagd",
    "rabbitmq",
    "dashboard",
    "prometheus",
    "tempo",
    "loki",
    "grafana",
    "load",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn manifest() -> Manifest {
    Manifest::load(&repo().join("apiary.toml")).expect("apiary.toml is valid")
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut value: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    value
        .apply_merge()
        .unwrap_or_else(|e| panic!("{path}: merge keys: {e}"));
    value
}

fn env_of(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_mapping()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_sequence()
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn every_manifest_service_is_a_crate_with_its_binary() {
    for s in &manifest().services {
        let cargo = repo().join("services").join(&s.name).join("Cargo.toml");
        let text =
            std::fs::read_to_string(&cargo).unwrap_or_else(|e| panic!("{}: {e}", cargo.display()));
        assert!(
            text.contains(&format!("name = \"{}\"", s.binary_name())),
            "{} builds no binary {}",
            cargo.display(),
            s.binary_name()
        );
    }
}

#[test]
fn compose_runs_exactly_the_manifest_services_with_their_ports_and_urls() {
    let m = manifest();
    let compose = yaml("compose.yaml");
    let services = compose["services"].as_mapping().expect("compose services");
    for (name, _) in services {
        let name = name.as_str().expect("service name");
        assert!(
            m.service(name).is_ok() || INFRA.contains(&name),
            "compose service {name} is not in apiary.toml"
        );
    }
    for s in &m.services {
        let c = &compose["services"][s.name.as_str()];
        assert!(c.is_mapping(), "{} missing from compose.yaml", s.name);
        let env = env_of(c);
        assert_eq!(
            env.get("APIARY_PORT"),
            Some(&s.port.to_string()),
            "{} port",
            s.name
        );
        assert_eq!(
            env.get("APIARY_HOST").map(String::as_str),
            Some("0.0.0.0"),
            "{} must listen on the container network",
            s.name
        );
        assert_eq!(
            env.get("OTEL_SERVICE_NAME"),
            Some(&s.name),
            "{} service name",
            s.name
        );
        assert!(
            env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                .is_some_and(|e| e.contains("otel-collector:4317")),
            "{} OTLP endpoint",
            s.name
        );
        assert_eq!(
            c["command"][0].as_str(),
            Some(s.binary_name()),
            "{} command",
            s.name
        );
        let replicas = c["deploy"]["replicas"].as_u64().unwrap_or(1);
        if replicas > 1 {
            assert!(
                s.scaling_refusal(2).is_none(),
                "{} keeps state: one replica",
                s.name
            );
            assert!(
                c["ports"].is_null(),
                "{}: replicas cannot share a published port",
                s.name
            );
        } else {
            assert_eq!(
                strings(&c["ports"]),
                vec![format!("127.0.0.1:{0}:{0}", s.port)],
                "{} publishes its port on loopback only",
                s.name
            );
        }
        assert_eq!(
            env.get("APIARY_DISCOVERY").map(String::as_str),
            Some("dns"),
            "{}: callers balance over every replica a name resolves to",
            s.name
        );
        if s.store == Some(apiary_manifest::Store::Sqlite) {
            // Its SQLite file must outlive the container.
            assert_eq!(
                env.get("APIARY_DATA_DIR").map(String::as_str),
                Some("/data"),
                "{} keeps its data in /data",
                s.name
            );
            let volume = format!("{}-data:/data", s.name);
            assert!(
                strings(&c["volumes"]).contains(&volume.as_str()),
                "{} mounts {volume}",
                s.name
            );
            assert!(
                compose["volumes"][format!("{}-data", s.name).as_str()].is_null()
                    && compose["volumes"]
                        .as_mapping()
                        .is_some_and(|v| v.contains_key(format!("{}-data", s.name).as_str())),
                "{}-data is a declared volume",
                s.name
            );
        }
        if m.broker.is_some() {
            assert!(
                env.get(apiary_manifest::BROKER_URL_VAR)
                    .is_some_and(|u| u.starts_with("amqp://") && u.contains("@rabbitmq:5672/")),
                "{} reaches the compose broker",
                s.name
            );
        }
        let depends = strings(&c["depends_on"]);
        for dep in &s.depends_on {
            let target = m.service(dep).expect("known dependency");
            assert_eq!(
                env.get(&url_var(dep)),
                Some(&format!("http://{dep}:{}", target.port)),
                "{} -> {dep} URL",
                s.name
            );
            assert!(
                depends.contains(&dep.as_str()),
                "{} must depend_on {dep}",
                s.name
            );
        }
    }
}

#[test]
fn the_collector_receives_otlp_on_the_standard_ports_and_every_pipeline_is_wired() {
    let c = yaml("otel/collector.yaml");
    assert_eq!(
        c["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].as_str(),
        Some("0.0.0.0:4317")
    );
    assert_eq!(
        c["receivers"]["otlp"]["protocols"]["http"]["endpoint"].as_str(),
        Some("0.0.0.0:4318")
    );
    let connectors: Vec<&str> = c["connectors"]
        .as_mapping()
        .map(|m| m.keys().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let pipelines = c["service"]["pipelines"].as_mapping().expect("pipelines");
    for signal in ["traces", "logs"] {
        assert!(pipelines.contains_key(signal), "no {signal} pipeline");
    }
    let (mut exported_to, mut received_from) = (Vec::new(), Vec::new());
    for (name, pipeline) in pipelines {
        for section in ["receivers", "processors", "exporters"] {
            for component in strings(&pipeline[section]) {
                let connector = section != "processors" && connectors.contains(&component);
                assert!(
                    c[section].get(component).is_some() || connector,
                    "pipeline {name:?} uses undefined {section} {component}"
                );
                if connector && section == "exporters" {
                    exported_to.push(component);
                }
                if connector && section == "receivers" {
                    received_from.push(component);
                }
            }
        }
        // memory_limiter first (refuse before anything else holds the data), batch last.
        let processors = strings(&pipeline["processors"]);
        assert_eq!(processors.first(), Some(&"memory_limiter"), "{name:?}");
        assert_eq!(processors.last(), Some(&"batch"), "{name:?}");
    }
    for connector in &connectors {
        assert!(
            exported_to.contains(connector) && received_from.contains(connector),
            "connector {connector} must be a pipeline's exporter and another's receiver"
        );
    }
    for extension in strings(&c["service"]["extensions"]) {
        assert!(
            c["extensions"].get(extension).is_some(),
            "extension {extension} is not defined"
        );
    }
}

/// The collector's exporters reach services that exist in compose (and so, with the same
/// names, in Kubernetes): the trace store, the log store, Prometheus and the Apiary dashboard.
#[test]
fn every_collector_exporter_points_at_a_compose_service() {
    let c = yaml("otel/collector.yaml");
    let compose = yaml("compose.yaml");
    let exporters = c["exporters"].as_mapping().expect("exporters");
    let mut hosts = Vec::new();
    for (name, exporter) in exporters {
        let Some(endpoint) = exporter["endpoint"].as_str() else {
            continue;
        };
        let without_scheme = endpoint.split("://").last().unwrap_or(endpoint);
        let host = without_scheme.split([':', '/']).next().expect("a host");
        assert!(
            compose["services"].get(host).is_some(),
            "exporter {name:?} sends to {host}, which compose.yaml does not run"
        );
        hosts.push(host.to_owned());
    }
    for wanted in ["tempo", "loki", "prometheus", "dashboard"] {
        assert!(
            hosts.iter().any(|h| h == wanted),
            "no exporter sends to {wanted}: {hosts:?}"
        );
    }
    // The dashboard's OTLP gRPC port in compose is the one the collector sends to.
    let dashboard = env_of(&compose["services"]["dashboard"]);
    assert_eq!(
        c["exporters"]["otlp/apiary"]["endpoint"].as_str(),
        Some(format!("dashboard:{}", dashboard["DASHBOARD_OTLP_GRPC_PORT"]).as_str())
    );
    // Prometheus accepts the collector's remote writes.
    assert!(
        strings(&compose["services"]["prometheus"]["command"])
            .contains(&"--web.enable-remote-write-receiver"),
        "prometheus must run with --web.enable-remote-write-receiver"
    );
}

/// The redaction patterns mask card numbers and e-mail addresses, and leave the shop's ids,
/// trace ids and prices alone (Go's RE2 and Rust's regex agree on this syntax).
#[test]
fn the_collector_redacts_card_numbers_and_email_addresses_only() {
    let c = yaml("otel/collector.yaml");
    let patterns: Vec<regex::Regex> = strings(&c["processors"]["redaction/pii"]["blocked_values"])
        .into_iter()
        .map(|p| regex::Regex::new(p).expect("a valid pattern"))
        .collect();
    assert_eq!(patterns.len(), 2);
    // Log bodies get the same two patterns (inside OTTL string literals: backslashes doubled).
    let statements =
        strings(&c["processors"]["transform/redact-log-bodies"]["log_statements"][0]["statements"]);
    for p in &patterns {
        let literal = p.as_str().replace('\\', "\\\\");
        assert!(
            statements.iter().any(|s| s.contains(&literal)),
            "log bodies are not masked with {p}: {statements:?}"
        );
    }
    let masked = |value: &str| patterns.iter().any(|p| p.is_match(value));
    for secret in [
        "4000000000000002",
        "4000 0000 0000 0002",
        "5555-5555-5555-4444",
        "card 378282246310005 declined",
        "shopper@example.com",
        "to: a.b+c@shop.example.org",
    ] {
        assert!(masked(secret), "{secret:?} would leave the collector");
    }
    for fine in [
        "ord-01JD3K5W8Y2Z",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "BK-0001",
        "12.99 EUR",
        "/api/products/{id}",
        "cart-of-o-1",
    ] {
        assert!(!masked(fine), "{fine:?} would be masked");
    }
}

/// Services that keep data (they depend on apiary-store) get a data directory on a named
/// volume in compose: a container restart must not lose orders or the payment ledger.
#[test]
fn durable_services_keep_their_data_on_a_volume() {
    let compose = yaml("compose.yaml");
    let volumes = compose["volumes"].as_mapping().cloned().unwrap_or_default();
    let mut durable = 0;
    for s in &manifest().services {
        let cargo = repo().join("services").join(&s.name).join("Cargo.toml");
        let text = std::fs::read_to_string(&cargo).unwrap_or_default();
        if !text.contains("apiary-store") {
            continue;
        }
        durable += 1;
        let c = &compose["services"][s.name.as_str()];
        let dir = env_of(c)
            .get(apiary_manifest::DATA_DIR_VAR)
            .cloned()
            .unwrap_or_else(|| panic!("{} has no {}", s.name, apiary_manifest::DATA_DIR_VAR));
        let mounts = strings(&c["volumes"]);
        let mount = mounts
            .iter()
            .find(|m| m.ends_with(&format!(":{dir}")))
            .unwrap_or_else(|| panic!("{}: nothing mounted at {dir}", s.name));
        let volume = mount.split(':').next().unwrap_or_default();
        assert!(
            volumes.contains_key(volume),
            "{}: volume {volume} is not declared",
            s.name
        );
    }
    assert!(durable >= 4, "only {durable} durable services found");
}

#[test]
fn the_image_ships_every_binary() {
    let dockerfile =
        std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile is readable");
    let m = manifest();
    let mut bins: Vec<&str> = m.services.iter().map(|s| s.binary_name()).collect();
    bins.extend(["apiary", "apiary-load", "dashboard"]);
    for bin in bins {
        assert!(
            dockerfile.contains(&format!("/target/release/{bin} ")),
            "the Dockerfile does not copy {bin}"
        );
    }
}

#[test]
fn the_image_ships_the_ui_bundle_built_like_the_run_command_builds_it() {
    let dockerfile =
        std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile is readable");
    let lib = std::fs::read_to_string(repo().join("scripts/lib.sh")).expect("scripts/lib.sh");
    // The build stage uses the scripts' own functions, so the image and `scripts/up.sh`
    // cannot drift apart, and has what they need (protoc for the flagd provider, npm for
    // wasm-opt).
    assert!(
        dockerfile.contains(". scripts/lib.sh && ensure_ui_tools && build_ui"),
        "the image does not build the UI bundle"
    );
    for func in ["ensure_ui_tools() {", "build_ui() {"] {
        assert!(lib.contains(func), "scripts/lib.sh lost {func}");
    }
    // build_ui runs the workspace's own bundle task, which always writes the twins.
    assert!(
        lib.contains("-p apiary-ui-build"),
        "build_ui does not run apiary-ui-build"
    );
    let bundle = std::fs::read_to_string(repo().join("crates/ui-build/src/bundle.rs"))
        .expect("crates/ui-build/src/bundle.rs");
    assert!(
        bundle.contains("precompress::twins("),
        "the bundle is built without its gzip/brotli twins"
    );
    for pkg in ["protobuf-compiler", "npm"] {
        assert!(
            dockerfile.contains(pkg),
            "the build stage does not install {pkg}"
        );
    }
    // The bundle lands where the dashboard is told to look.
    let copied = dockerfile
        .lines()
        .find(|l| l.starts_with("COPY --from=build /src/target/site "))
        .expect("the site directory is copied into the image");
    let dest = copied.rsplit(' ').next().expect("a destination");
    assert!(
        dockerfile.contains(&format!("ENV DASHBOARD_SITE_ROOT={dest}")),
        "DASHBOARD_SITE_ROOT does not point at {dest}"
    );
}

#[test]
fn compose_services_read_fault_flags_from_flagd_syncing_the_shipped_file_and_the_dashboard() {
    let m = manifest();
    let compose = yaml("compose.yaml");
    let flagd = &compose["services"]["flagd"];
    let mounts = strings(&flagd["volumes"]);
    assert!(
        mounts
            .iter()
            .any(|v| v.starts_with("./drills/flags.flagd.json:")),
        "flagd serves the shipped flag file: {mounts:?}"
    );
    let command = strings(&flagd["command"]).join(" ");
    assert!(
        command.contains("--uri file:/etc/flagd/flags.flagd.json --uri grpc://dashboard:4317"),
        "the shipped file, then the dashboard's flag sync (which takes precedence): {command}"
    );
    assert!(
        repo().join("drills/flags.flagd.json").is_file(),
        "the mounted file exists"
    );
    for s in &m.services {
        let env = env_of(&compose["services"][s.name.as_str()]);
        assert_eq!(
            env.get("FLAGD_RESOLVER").map(String::as_str),
            Some("in-process"),
            "{}",
            s.name
        );
        assert_eq!(
            env.get("FLAGD_HOST").map(String::as_str),
            Some("flagd"),
            "{}",
            s.name
        );
        assert_eq!(
            env.get("FLAGD_PORT").map(String::as_str),
            Some("8015"),
            "{}",
            s.name
        );
    }
}

#[test]
fn the_image_caches_dependencies_runs_as_nobody_and_checks_its_health() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile");
    // Dependencies cooked from the recipe before the sources are copied in: a change to
    // Apiary's code leaves that layer cached.
    let cook = dockerfile.find("cargo chef cook").expect("cargo chef cook");
    let sources = dockerfile[cook..]
        .find("COPY . .")
        .expect("sources after the cook");
    let build = dockerfile[cook..]
        .find("cargo build --release")
        .expect("the build after the cook");
    assert!(sources < build);
    let runtime = &dockerfile[dockerfile.rfind("\nFROM ").expect("a runtime stage")..];
    assert!(
        runtime.contains("USER 65534:65534"),
        "the runtime stage runs as nobody"
    );
    assert!(
        runtime.contains("HEALTHCHECK") && runtime.contains("/health/live"),
        "the image checks /health/live"
    );
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).expect(".dockerignore");
    for line in ["target/", ".git/", ".apiary/"] {
        assert!(
            ignore.lines().any(|l| l == line),
            ".dockerignore lacks {line}"
        );
    }
}

#[test]
fn compose_pins_every_image_in_env_and_limits_every_container() {
    let env_text = std::fs::read_to_string(repo().join(".env")).expect(".env");
    let pins: BTreeMap<String, String> = env_text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let compose = yaml("compose.yaml");
    let services = compose["services"].as_mapping().expect("services");
    for (name, c) in services {
        let name = name.as_str().expect("name");
        let image = c["image"].as_str().expect("an image");
        if image != "apiary:local" {
            let var = image
                .strip_prefix("${")
                .and_then(|v| v.strip_suffix('}'))
                .unwrap_or_else(|| panic!("{name}: image {image} is not pinned in .env"));
            let pinned = pins
                .get(var)
                .unwrap_or_else(|| panic!("{name}: {var} not in .env"));
            let tag = pinned.rsplit(':').next().unwrap_or_default();
            assert!(
                pinned.contains(':') && tag != "latest" && !tag.is_empty(),
                "{name}: {pinned} is not a pinned version"
            );
        }
        assert!(
            c["deploy"]["resources"]["limits"]["memory"].is_string(),
            "{name} has no memory limit"
        );
    }
    // The default profile adds the backends; without it, the shop and the dashboard run alone.
    assert_eq!(
        pins.get("COMPOSE_PROFILES").map(String::as_str),
        Some("backends")
    );
    for backend in ["otel-collector", "prometheus", "tempo", "loki", "grafana"] {
        assert_eq!(
            strings(&compose["services"][backend]["profiles"]),
            ["backends"],
            "{backend}"
        );
    }
    for core in ["gateway", "dashboard", "flagd", "rabbitmq", "load"] {
        assert!(
            compose["services"][core]["profiles"].is_null(),
            "{core} is in every profile"
        );
    }
}
