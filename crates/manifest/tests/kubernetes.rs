//! deploy/k8s: the base is what `apiary export kubernetes` writes from apiary.toml today, it
//! agrees with the manifest (names, ports, env, probes, volumes, autoscaling, and the
//! NetworkPolicy edges are exactly `depends_on`), and the base and every overlay are valid
//! Kubernetes objects of a pinned version (kubectl's kustomize renders the overlays,
//! kubernetes-validate checks them; both from PyPI, installed by scripts/test.sh). compose.yaml
//! is checked against the compose specification the same way (check-jsonschema).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use apiary_manifest::kubernetes::{Images, Inputs, base, scales_out};
use apiary_manifest::{Manifest, Store, url_var};
use serde_yaml::Value;

/// The Kubernetes version the objects are validated against.
const KUBERNETES_VERSION: &str = "1.33.0";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn manifest() -> Manifest {
    Manifest::load(&repo().join("apiary.toml")).expect("apiary.toml is valid")
}

fn generated() -> Vec<(String, String)> {
    let m = manifest();
    base(
        &m,
        &Inputs {
            manifest_text: &read("apiary.toml"),
            flags: &read(&m.faults.flags),
            collector: &read("otel/collector.yaml"),
            images: Images::from_env_file(&read(".env")).expect("image pins"),
        },
    )
}

/// Every object of the base, by (kind, name).
fn objects() -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for (file, text) in generated() {
        if file == "kustomization.yaml" {
            continue;
        }
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v = Value::deserialize(doc).unwrap_or_else(|e| panic!("{file}: {e}"));
            let kind = v["kind"].as_str().expect("kind").to_owned();
            let name = v["metadata"]["name"].as_str().expect("name").to_owned();
            assert!(
                out.insert((kind.clone(), name.clone()), v).is_none(),
                "{kind} {name} twice"
            );
        }
    }
    out
}

use serde::Deserialize as _;

fn get<'a>(objects: &'a BTreeMap<(String, String), Value>, kind: &str, name: &str) -> &'a Value {
    objects
        .get(&(kind.to_owned(), name.to_owned()))
        .unwrap_or_else(|| panic!("no {kind} {name} in deploy/k8s/base"))
}

fn env_of(container: &Value) -> BTreeMap<String, String> {
    container["env"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_owned(),
                e["value"].as_str().unwrap_or("<from>").to_owned(),
            ))
        })
        .collect()
}

#[test]
fn the_committed_base_is_what_the_export_writes() {
    let dir = repo().join("deploy/k8s/base");
    let files = generated();
    for (name, text) in &files {
        let committed = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            committed == *text,
            "deploy/k8s/base/{name} is stale: run `apiary export kubernetes --out deploy/k8s/base`"
        );
    }
    let expected: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for entry in std::fs::read_dir(&dir).expect("deploy/k8s/base") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            expected.contains(name.as_str()),
            "deploy/k8s/base/{name} is not written by the export (a removed service?)"
        );
    }
}

#[test]
fn every_service_has_its_workload_service_probes_and_env() {
    let m = manifest();
    let objects = objects();
    for s in &m.services {
        let svc = get(&objects, "Service", &s.name);
        assert_eq!(svc["spec"]["clusterIP"], "None", "{}: headless", s.name);
        assert_eq!(
            svc["spec"]["ports"][0]["port"].as_u64(),
            Some(u64::from(s.port))
        );
        let kind = if scales_out(s) {
            "Deployment"
        } else {
            "StatefulSet"
        };
        let workload = get(&objects, kind, &s.name);
        let pod = &workload["spec"]["template"];
        assert_eq!(
            pod["metadata"]["labels"]["app.kubernetes.io/name"].as_str(),
            Some(s.name.as_str())
        );
        // What prometheus/kubernetes.yml keeps and relabels.
        let ann = &pod["metadata"]["annotations"];
        assert_eq!(ann["prometheus.io/scrape"], "true");
        assert_eq!(
            ann["prometheus.io/port"].as_str(),
            Some(s.port.to_string().as_str())
        );
        let c = &pod["spec"]["containers"][0];
        assert_eq!(c["command"][0].as_str(), Some(s.binary_name()));
        assert_eq!(
            c["ports"][0]["containerPort"].as_u64(),
            Some(u64::from(s.port))
        );
        assert_eq!(c["ports"][0]["name"], "http");
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/health/live");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/health/ready");
        assert_eq!(c["readinessProbe"]["httpGet"]["port"], "http");
        assert!(c["resources"]["limits"]["memory"].is_string(), "{}", s.name);
        assert!(c["resources"]["requests"]["cpu"].is_string(), "{}", s.name);
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        let env = env_of(c);
        assert_eq!(env.get("APIARY_PORT"), Some(&s.port.to_string()));
        assert_eq!(env.get("APIARY_HOST").map(String::as_str), Some("0.0.0.0"));
        assert_eq!(env.get("OTEL_SERVICE_NAME"), Some(&s.name));
        assert!(
            env["OTEL_RESOURCE_ATTRIBUTES"].contains("service.instance.id=$(POD_NAME)"),
            "{}: each pod is its own instance",
            s.name
        );
        for dep in &s.depends_on {
            let d = m.service(dep).expect("dependency");
            assert_eq!(
                env.get(&url_var(dep)),
                Some(&format!("http://{}:{}", d.name, d.port)),
                "{} -> {dep}",
                s.name
            );
        }
        let talks_amqp = s.uses_broker();
        assert_eq!(
            env.contains_key("APIARY_BROKER_URL"),
            talks_amqp,
            "{}",
            s.name
        );
        match s.store {
            Some(Store::Sqlite) => {
                assert_eq!(workload["spec"]["replicas"].as_u64(), Some(1), "{}", s.name);
                assert_eq!(
                    workload["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
                    "data"
                );
                assert_eq!(
                    env.get("APIARY_DATA_DIR").map(String::as_str),
                    Some("/data")
                );
            }
            Some(Store::Memory) => {
                assert_eq!(workload["spec"]["replicas"].as_u64(), Some(1), "{}", s.name);
            }
            None => {
                let hpa = get(&objects, "HorizontalPodAutoscaler", &s.name);
                assert_eq!(
                    hpa["spec"]["scaleTargetRef"]["name"].as_str(),
                    Some(s.name.as_str())
                );
                assert!(hpa["spec"]["minReplicas"].as_u64() >= Some(2));
                get(&objects, "PodDisruptionBudget", &s.name);
            }
        }
    }
    for infra in ["dashboard", "flagd", "otel-collector", "load"] {
        get(&objects, "Deployment", infra);
        get(&objects, "Service", infra);
    }
    get(&objects, "StatefulSet", "rabbitmq");
    let manifest_cm = get(&objects, "ConfigMap", "apiary-manifest");
    assert_eq!(
        manifest_cm["data"]["apiary.toml"].as_str(),
        Some(read("apiary.toml").as_str())
    );
    // The dashboard finds each service at its own name.
    let dash =
        &get(&objects, "Deployment", "dashboard")["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        env_of(dash).get("APIARY_ADDRESSES").map(String::as_str),
        Some("dns")
    );
}

/// The pod names a NetworkPolicy admits on `port`, from pods of this namespace.
fn admitted(policy: &Value, port: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for rule in policy["spec"]["ingress"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let on_port = rule["ports"]
            .as_sequence()
            .is_some_and(|ps| ps.iter().any(|p| p["port"] == port));
        if !on_port {
            continue;
        }
        for from in rule["from"].as_sequence().into_iter().flatten() {
            if from.get("namespaceSelector").is_some() {
                continue;
            }
            if let Some(name) =
                from["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as_str()
            {
                out.insert(name.to_owned());
            }
        }
    }
    out
}

#[test]
fn network_policies_admit_exactly_the_declared_callers() {
    let m = manifest();
    let objects = objects();
    let deny = get(&objects, "NetworkPolicy", "default-deny-ingress");
    assert_eq!(
        deny["spec"]["podSelector"],
        serde_yaml::from_str::<Value>("{}").expect("{}")
    );
    let admits = |callee: &str| admitted(get(&objects, "NetworkPolicy", callee), "http");
    // Every declared call is let through...
    for caller in &m.services {
        for callee in &caller.depends_on {
            assert!(
                admits(callee).contains(&caller.name),
                "{} depends on {callee}, whose NetworkPolicy refuses it",
                caller.name
            );
        }
    }
    if let Some(load) = &m.load {
        assert!(
            admits(load.target_service()).contains("load"),
            "the load generator is refused"
        );
    }
    // ...and nothing else but the scraper: each admitted pod is a declared caller.
    for s in &m.services {
        for pod in admits(&s.name) {
            let declared = m
                .service(&pod)
                .is_ok_and(|c| c.depends_on.contains(&s.name))
                || (pod == "load"
                    && m.load
                        .as_ref()
                        .is_some_and(|l| l.target_service() == s.name))
                || pod == "apiary-dashboard";
            assert!(
                declared,
                "{} admits {pod}, which does not depend on it",
                s.name
            );
        }
        assert!(
            admits(&s.name).contains("apiary-dashboard"),
            "{}: the scraper is refused",
            s.name
        );
    }
    // The broker admits exactly the services that publish or consume.
    let messaging: BTreeSet<String> = m
        .services
        .iter()
        .filter(|s| s.uses_broker())
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(
        admitted(get(&objects, "NetworkPolicy", "rabbitmq"), "amqp"),
        messaging
    );
}

/// A tool installed by scripts/test.sh (`ensure_k8s_tools`), with a clear message if missing.
fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()));
    assert!(
        found,
        "{name} not on PATH: `source scripts/lib.sh && ensure_k8s_tools` installs it (scripts/test.sh does)"
    );
    Command::new(name)
}

fn validate(what: &str, files: &[PathBuf]) {
    let out = tool("kubernetes-validate")
        .args(["--strict", "--quiet", "-k", KUBERNETES_VERSION])
        .args(files)
        .output()
        .expect("kubernetes-validate runs");
    assert!(
        out.status.success(),
        "{what}: not valid Kubernetes {KUBERNETES_VERSION}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_base_and_every_overlay_are_valid_kubernetes() {
    let base_dir = repo().join("deploy/k8s/base");
    let files: Vec<PathBuf> = generated()
        .iter()
        .filter(|(n, _)| n != "kustomization.yaml")
        .map(|(n, _)| base_dir.join(n))
        .collect();
    validate("deploy/k8s/base", &files);
    let tmp = tempfile::tempdir().expect("tempdir");
    for overlay in ["base", "overlays/dev", "overlays/production"] {
        let out = tool("kubectl")
            .args([
                "kustomize",
                &repo()
                    .join("deploy/k8s")
                    .join(overlay)
                    .display()
                    .to_string(),
            ])
            .output()
            .expect("kubectl runs");
        assert!(
            out.status.success(),
            "kubectl kustomize {overlay}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rendered = tmp
            .path()
            .join(format!("{}.yaml", overlay.replace('/', "-")));
        std::fs::write(&rendered, &out.stdout).expect("write");
        validate(overlay, &[rendered]);
        let text = String::from_utf8_lossy(&out.stdout);
        if overlay == "overlays/production" {
            assert!(text.contains("image: registry.example.com/apiary:0.1.0"));
        }
        // Every object lands in the stack's namespace.
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v = Value::deserialize(doc).expect("yaml");
            if v["kind"] != "Namespace" {
                assert_eq!(
                    v["metadata"]["namespace"], "apiary",
                    "{overlay}: {:?}",
                    v["metadata"]["name"]
                );
            }
        }
    }
}

#[test]
fn compose_follows_the_compose_specification() {
    let out = tool("check-jsonschema")
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(repo().join("compose.yaml"))
        .output()
        .expect("check-jsonschema runs");
    assert!(
        out.status.success(),
        "compose.yaml against the compose specification:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
