//! From manifest and command line to a launch plan, refusing what cannot work before anything
//! starts.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use apiary_manifest::{DATA_DIR_VAR, Manifest, PORT_VAR, SUPERVISOR_PID_VAR};
use apiary_wire::discovery::{DISCOVERY_VAR, ENDPOINTS_DIR};

use crate::LaunchError;
use crate::cli::{ManifestArgs, UpArgs};

/// One service as it will be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedService {
    /// What the console and the pid lines call it: the service's name for its first
    /// instance, `<service>-<n>` for the others.
    pub name: String,
    /// The manifest's service (or `dashboard`, `load`, `broker`) it is an instance of.
    pub service: String,
    /// Which instance (1-based; 1 for everything that has one).
    pub instance: usize,
    pub host: String,
    pub port: u16,
    /// Other ports it binds (the dashboard's OTLP receivers), checked free before start.
    pub extra_ports: Vec<u16>,
    pub binary: PathBuf,
    /// What the process is called (`argv[0]`, what `ps` shows), when not the binary's path: a
    /// service run by the multi-call binary is still called by its own name.
    pub arg0: Option<String>,
    /// Command-line arguments.
    pub args: Vec<String>,
    /// Set on top of the launcher's own environment.
    pub env: Vec<(String, String)>,
    /// Index into the console's colour cycle.
    pub colour: usize,
    /// What answers 200 when it is ready, when not `{url}/health/ready` (the broker's
    /// Prometheus endpoint).
    pub ready_url: Option<String>,
}

impl PlannedService {
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LaunchPlan {
    pub manifest_path: PathBuf,
    pub manifest: Manifest,
    /// Dependencies first.
    pub services: Vec<PlannedService>,
    /// The background load, started once every service is ready.
    pub load: Option<PlannedService>,
    /// The private broker node, started first; the services do not wait for it.
    pub broker: Option<PlannedBroker>,
    pub otlp_endpoint: String,
    pub control: ControlSetup,
}

/// The private RabbitMQ node as it will be started.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedBroker {
    pub process: PlannedService,
    /// Its own port mapper's port (stopped with the stack).
    pub epmd_port: u16,
}

impl PlannedBroker {
    /// The AMQP address, without credentials, for the console.
    pub fn address(&self) -> String {
        format!("amqp://{}:{}", self.process.host, self.process.port)
    }
}

/// The broker the services use: a private node to start (with its URL), an existing one (its
/// URL only), or none.
fn plan_broker(
    args: &UpArgs,
    manifest: &Manifest,
    data_dir: &Path,
) -> Result<(Option<PlannedBroker>, Option<String>), LaunchError> {
    let Some(broker) = manifest.broker.as_ref().filter(|_| !args.no_broker) else {
        return Ok((None, None));
    };
    if let Some(url) = &broker.url {
        return Ok((None, Some(url.clone())));
    }
    let server = apiary_manifest::broker::find_server().ok_or(LaunchError::NoBrokerServer)?;
    let host = manifest.stack.host.clone();
    let node =
        apiary_manifest::broker::Node::prepare(data_dir, &host, broker.into()).map_err(|e| {
            LaunchError::Runtime(format!(
                "cannot prepare the broker's directory in {}: {e}",
                data_dir.display()
            ))
        })?;
    let url = node.url();
    let process = PlannedService {
        name: "broker".into(),
        service: "broker".into(),
        instance: 1,
        host,
        port: broker.port,
        extra_ports: vec![broker.prometheus_port, broker.dist_port, broker.epmd_port],
        binary: server,
        arg0: None,
        args: Vec::new(),
        env: node.env(),
        colour: 7,
        ready_url: Some(format!("{}/metrics", node.prometheus_url())),
    };
    Ok((
        Some(PlannedBroker {
            process,
            epmd_port: broker.epmd_port,
        }),
        Some(url),
    ))
}

/// What `apiary up` writes into the data directory before anything starts: the fault flag file
/// every service watches (all faults off) and the control token.
#[derive(Clone, PartialEq)]
pub struct ControlSetup {
    pub data_dir: PathBuf,
    pub flags: apiary_faults::FlagSet,
    pub token: String,
}

impl std::fmt::Debug for ControlSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlSetup")
            .field("data_dir", &self.data_dir)
            .field("flags", &self.flags.flags.len())
            .finish_non_exhaustive()
    }
}

impl ControlSetup {
    /// Writes the flag file (atomically) and the token file (owner-only).
    pub fn write(&self) -> Result<(), LaunchError> {
        let fail = |what: &str, e: std::io::Error| {
            LaunchError::Runtime(format!(
                "cannot write {what} in {}: {e}",
                self.data_dir.display()
            ))
        };
        apiary_faults::write_flag_file(
            &self.data_dir.join(apiary_manifest::ACTIVE_FLAGS_FILE),
            &self.flags,
        )
        .map_err(|e| fail("the flag file", e))?;
        apiary_manifest::write_control_token(&self.data_dir, &self.token)
            .map_err(|e| fail("the control token", e))
    }
}

/// The fault flags at their defaults ([`Manifest::base_flags`]); a lying flag file is a usage
/// error (exit 2).
pub fn base_flags(
    manifest: &Manifest,
    manifest_path: &Path,
) -> Result<apiary_faults::FlagSet, LaunchError> {
    manifest
        .base_flags(manifest_path)
        .map_err(|e| LaunchError::Usage(e.to_string()))
}

pub fn load_manifest(args: &ManifestArgs) -> Result<(PathBuf, Manifest), LaunchError> {
    let path = match &args.manifest {
        Some(path) => path.clone(),
        None => {
            let cwd = std::env::current_dir().map_err(|e| {
                LaunchError::Usage(format!("cannot read the current directory: {e}"))
            })?;
            Manifest::locate(&cwd)?
        }
    };
    let manifest = Manifest::load(&path)?;
    Ok((path, manifest))
}

pub fn default_bin_dir() -> Result<PathBuf, LaunchError> {
    let exe = std::env::current_exe()
        .map_err(|e| LaunchError::Usage(format!("cannot locate the apiary executable: {e}")))?;
    exe.parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| LaunchError::Usage("the apiary executable has no directory".into()))
}

pub fn plan(args: &UpArgs) -> Result<LaunchPlan, LaunchError> {
    let (manifest_path, manifest) = load_manifest(&args.manifest)?;
    if manifest.stack.addresses == apiary_manifest::Addresses::Dns {
        return Err(LaunchError::Usage(format!(
            "{}: [stack] addresses = \"dns\" is for compose and Kubernetes, where each service's name resolves to its instances; `apiary up` runs every service on [stack] host (remove the line)",
            manifest_path.display()
        )));
    }
    let selected = manifest.select(&args.only)?;
    let scale = parse_scale(&args.scale, &manifest)?;
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => default_bin_dir()?,
    };
    let otlp_endpoint = match &args.otlp_endpoint {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => url.clone(),
        Some(url) => {
            return Err(LaunchError::Usage(format!(
                "--otlp-endpoint '{url}' must be an http:// or https:// URL, e.g. http://127.0.0.1:4317"
            )));
        }
        None => manifest.telemetry.otlp_endpoint.clone(),
    };
    let supervisor_pid = std::process::id().to_string();
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => manifest.data_dir(&manifest_path),
    };
    let data_dir = std::path::absolute(&data_dir).unwrap_or(data_dir);
    let control = ControlSetup {
        data_dir: data_dir.clone(),
        flags: base_flags(&manifest, &manifest_path)?,
        token: match std::env::var(apiary_manifest::CONTROL_TOKEN_VAR) {
            Ok(t) if !t.is_empty() => t,
            _ => apiary_manifest::random_token()
                .map_err(|e| LaunchError::Runtime(format!("cannot read /dev/urandom: {e}")))?,
        },
    };

    let (broker, broker_url) = plan_broker(args, &manifest, &data_dir)?;

    let mut services = Vec::with_capacity(selected.len() + 1);
    if let Some(dashboard) = manifest.dashboard.as_ref().filter(|_| !args.no_dashboard) {
        let binary = bin_dir.join(dashboard.binary_name());
        if !binary.is_file() {
            return Err(LaunchError::MissingBinary {
                service: "dashboard".into(),
                path: binary.display().to_string(),
            });
        }
        let absolute =
            std::fs::canonicalize(&manifest_path).unwrap_or_else(|_| manifest_path.clone());
        let mut env = manifest.dashboard_env(dashboard, &absolute);
        env.push((SUPERVISOR_PID_VAR.to_owned(), supervisor_pid.clone()));
        env.push((DATA_DIR_VAR.to_owned(), data_dir.display().to_string()));
        env.push((
            apiary_manifest::CONTROL_TOKEN_VAR.to_owned(),
            control.token.clone(),
        ));
        services.push(PlannedService {
            name: "dashboard".into(),
            service: "dashboard".into(),
            instance: 1,
            host: manifest.stack.host.clone(),
            port: dashboard.port,
            extra_ports: vec![dashboard.otlp_grpc_port, dashboard.otlp_http_port],
            binary,
            arg0: None,
            args: Vec::new(),
            env,
            colour: 5,
            ready_url: None,
        });
    }
    let shared = if args.separate_binaries {
        None
    } else {
        SharedBinary::find(&bin_dir)
    };
    for (colour, service) in selected.into_iter().enumerate() {
        let (binary, arg0, cli) = match shared.as_ref().filter(|s| s.runs(service)) {
            Some(shared) => (
                shared.path.clone(),
                Some(service.name.clone()),
                vec![service.name.clone()],
            ),
            None => (bin_dir.join(service.binary_name()), None, Vec::new()),
        };
        if !binary.is_file() {
            return Err(LaunchError::MissingBinary {
                service: service.name.clone(),
                path: binary.display().to_string(),
            });
        }
        let mut env = manifest.service_env(service);
        for (key, value) in &mut env {
            if key == "OTEL_EXPORTER_OTLP_ENDPOINT" {
                value.clone_from(&otlp_endpoint);
            }
        }
        env.push((SUPERVISOR_PID_VAR.to_owned(), supervisor_pid.clone()));
        env.push((DATA_DIR_VAR.to_owned(), data_dir.display().to_string()));
        match (manifest.faults.source, manifest.dashboard.as_ref()) {
            (apiary_manifest::FlagSource::Dashboard, Some(d)) if !args.no_dashboard => {
                env.extend(manifest.flag_sync_env(d));
            }
            _ => env.extend(Manifest::flag_env(&data_dir)),
        }
        env.push((
            DISCOVERY_VAR.to_owned(),
            format!("file:{}", data_dir.join(ENDPOINTS_DIR).display()),
        ));
        if let Some(url) = &broker_url {
            env.push((apiary_manifest::BROKER_URL_VAR.to_owned(), url.clone()));
        }
        let first = PlannedService {
            name: service.name.clone(),
            service: service.name.clone(),
            instance: 1,
            host: manifest.stack.host.clone(),
            port: service.port,
            extra_ports: Vec::new(),
            binary,
            arg0,
            args: cli,
            env,
            colour,
            ready_url: None,
        };
        for n in 1..=replicas_of(service, &scale) {
            services.push(instance_of(&first, service, n)?);
        }
    }
    let load = plan_load(
        args,
        &manifest,
        &manifest_path,
        &services,
        &bin_dir,
        &otlp_endpoint,
    )?;
    let load = load.map(|mut l| {
        l.env
            .push((SUPERVISOR_PID_VAR.to_owned(), supervisor_pid.clone()));
        // The dashboard drives the load generator (traffic spikes) with the same token.
        l.env
            .push(("APIARY_LOAD_TOKEN".to_owned(), control.token.clone()));
        l
    });
    // The dashboard scrapes queue depths and consumers from the broker's Prometheus endpoint.
    if let (Some(b), Some(dash)) = (&broker, services.iter_mut().find(|s| s.name == "dashboard"))
        && let Some(metrics) = &b.process.ready_url
    {
        dash.env
            .push(("APIARY_BROKER_METRICS_URL".to_owned(), metrics.clone()));
    }
    if let (Some(l), Some(dash)) = (&load, services.iter_mut().find(|s| s.name == "dashboard")) {
        dash.env.push(("APIARY_LOAD_URL".to_owned(), l.url()));
    }
    for s in services
        .iter()
        .chain(&load)
        .chain(broker.as_ref().map(|b| &b.process))
    {
        ensure_port_free(s)?;
    }
    Ok(LaunchPlan {
        manifest_path,
        manifest,
        services,
        load,
        broker,
        otlp_endpoint,
        control,
    })
}

/// `SERVICE=REPLICAS` (`catalog=3`), checked against the manifest: a known service, one that
/// can run that many instances. What `--scale` and `apiary scale` read.
pub fn parse_replicas<'m>(
    pair: &str,
    manifest: &'m Manifest,
) -> Result<(&'m apiary_manifest::Service, usize), LaunchError> {
    let (name, n) = pair.split_once('=').ok_or_else(|| {
        LaunchError::Usage(format!("{pair:?}: give SERVICE=REPLICAS, e.g. catalog=3"))
    })?;
    let service = manifest.service(name.trim())?;
    let n: usize = n.trim().parse().map_err(|_| {
        LaunchError::Usage(format!(
            "{pair:?}: the replica count must be a whole number, e.g. catalog=3"
        ))
    })?;
    if let Some(why) = service.scaling_refusal(n) {
        return Err(LaunchError::Usage(format!("{pair:?}: {why}")));
    }
    Ok((service, n))
}

/// `--scale catalog=3,gateway=2`: each named service's instance count ([`parse_replicas`]).
pub fn parse_scale(
    pairs: &[String],
    manifest: &Manifest,
) -> Result<std::collections::BTreeMap<String, usize>, LaunchError> {
    pairs
        .iter()
        .map(|pair| parse_replicas(pair, manifest).map(|(service, n)| (service.name.clone(), n)))
        .collect()
}

/// How many instances of `service` to start: `--scale`'s, else the manifest's.
fn replicas_of(
    service: &apiary_manifest::Service,
    scale: &std::collections::BTreeMap<String, usize>,
) -> usize {
    scale
        .get(&service.name)
        .copied()
        .unwrap_or_else(|| service.replicas())
}

/// Instance `n` of a service, from its first instance's plan: its own name, port and
/// `service.instance.id`.
pub fn instance_of(
    first: &PlannedService,
    service: &apiary_manifest::Service,
    n: usize,
) -> Result<PlannedService, LaunchError> {
    let port = service.instance_port(n).ok_or_else(|| {
        LaunchError::Usage(format!(
            "instance {n} of '{}' would need a port above 65535",
            service.name
        ))
    })?;
    let id = apiary_wire::discovery::instance_id(&service.name, n);
    let mut planned = first.clone();
    planned.instance = n;
    planned.port = port;
    if n > 1 {
        planned.name.clone_from(&id);
    }
    for (key, value) in &mut planned.env {
        if key == PORT_VAR {
            *value = port.to_string();
        } else if key == "OTEL_RESOURCE_ATTRIBUTES" {
            // Made from any instance's plan (live scaling starts from instance 1's): its own id
            // replaces the one it had.
            let mut attributes: Vec<&str> = value
                .split(',')
                .filter(|a| !a.is_empty() && !a.starts_with("service.instance.id="))
                .collect();
            let own = format!("service.instance.id={id}");
            attributes.push(&own);
            *value = attributes.join(",");
        }
    }
    Ok(planned)
}

/// The background load: the manifest's `[load]`, unless switched off, at `--load-rate` if
/// given, against its target service when that is being started.
fn plan_load(
    args: &UpArgs,
    manifest: &Manifest,
    manifest_path: &Path,
    services: &[PlannedService],
    bin_dir: &Path,
    otlp_endpoint: &str,
) -> Result<Option<PlannedService>, LaunchError> {
    let Some(load) = manifest.load.as_ref().filter(|_| !args.no_load) else {
        return Ok(None);
    };
    let rate = args.load_rate.unwrap_or(load.rate);
    if !(rate.is_finite() && (0.0..=10_000.0).contains(&rate)) {
        return Err(LaunchError::Usage(format!(
            "--load-rate {rate} must be between 0 and 10000 journeys a second"
        )));
    }
    let Some(target) = services.iter().find(|s| s.name == load.target_service()) else {
        // `--only` left the target out: nothing to load.
        return Ok(None);
    };
    if rate == 0.0 {
        return Ok(None);
    }
    let binary = bin_dir.join(load.binary_name());
    if !binary.is_file() {
        return Err(LaunchError::MissingBinary {
            service: "load".into(),
            path: binary.display().to_string(),
        });
    }
    let mut cli = vec![
        "--target".to_owned(),
        target.url(),
        "--rate".to_owned(),
        rate.to_string(),
        "--duration".to_owned(),
        "forever".to_owned(),
        "--control".to_owned(),
        format!("{}:{}", manifest.stack.host, load.control_port),
        "--quiet".to_owned(),
    ];
    if let Some(profile) = &load.profile {
        let path = Path::new(profile);
        let path = if path.is_absolute() {
            path.to_owned()
        } else {
            manifest_path
                .parent()
                .map_or_else(|| path.to_owned(), |dir| dir.join(path))
        };
        cli.push("--profile".to_owned());
        cli.push(path.display().to_string());
    }
    let mut env = manifest.load_env();
    for (key, value) in &mut env {
        if key == "OTEL_EXPORTER_OTLP_ENDPOINT" {
            value.clear();
            value.push_str(otlp_endpoint);
        }
    }
    Ok(Some(PlannedService {
        name: "load".into(),
        service: "load".into(),
        instance: 1,
        host: manifest.stack.host.clone(),
        port: load.control_port,
        extra_ports: Vec::new(),
        binary,
        arg0: None,
        args: cli,
        env,
        colour: 6,
        ready_url: None,
    }))
}

/// The storefront's multi-call binary (`apiary-shop <service>`), when it is built in the
/// binary directory, and the services it runs (it says, with `--list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedBinary {
    pub path: PathBuf,
    pub services: Vec<String>,
}

impl SharedBinary {
    pub const NAME: &str = "apiary-shop";

    /// `None` when it is not there or cannot say what it runs (then every service runs from
    /// its own binary, as before; a broken one is reported, not fatal).
    pub fn find(bin_dir: &Path) -> Option<Self> {
        let path = bin_dir.join(Self::NAME);
        if !path.is_file() {
            return None;
        }
        let out = match std::process::Command::new(&path)
            .arg("--list")
            .stdin(std::process::Stdio::null())
            .output()
        {
            Ok(out) if out.status.success() => out,
            Ok(out) => {
                eprintln!(
                    "apiary: {} --list failed ({}); each service runs from its own binary",
                    path.display(),
                    out.status
                );
                return None;
            }
            Err(e) => {
                eprintln!(
                    "apiary: cannot run {}: {e}; each service runs from its own binary",
                    path.display()
                );
                return None;
            }
        };
        let services = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        Some(Self { path, services })
    }

    /// Whether it runs this service: one of its own, and the manifest names no other binary.
    pub fn runs(&self, service: &apiary_manifest::Service) -> bool {
        service.binary.is_none() && self.services.contains(&service.name)
    }
}

fn ensure_port_free(service: &PlannedService) -> Result<(), LaunchError> {
    for port in std::iter::once(service.port).chain(service.extra_ports.iter().copied()) {
        TcpListener::bind((service.host.as_str(), port))
            .map(drop)
            .map_err(|e| LaunchError::PortInUse {
                service: service.name.clone(),
                port,
                reason: e.to_string(),
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn the_shipped_flag_file_is_the_catalogue_of_the_manifest_and_honest() {
        let path = repo().join("apiary.toml");
        let manifest = Manifest::load(&path).expect("apiary.toml");
        let shipped = base_flags(&manifest, &path).expect("the shipped flag file is accepted");
        assert!(apiary_faults::label_mismatches(&shipped).is_empty());
        assert_eq!(
            shipped,
            apiary_faults::base_flags(&manifest.fault_shape()),
            "drills/flags.flagd.json is stale: regenerate it with `apiary fault flags > drills/flags.flagd.json`"
        );
    }

    #[test]
    fn a_flag_file_whose_labels_lie_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = std::fs::read_to_string(repo().join("apiary.toml")).expect("manifest");
        let text = real.replace("drills/flags.flagd.json", "lying.json");
        let path = dir.path().join("apiary.toml");
        std::fs::write(&path, text).expect("write");
        std::fs::write(
            dir.path().join("lying.json"),
            r#"{"flags": {"payment.error-rate": {"state": "ENABLED", "variants": {"90%": 95, "off": 0},
                "defaultVariant": "off", "metadata": {"unit": "percent"}}}}"#,
        )
        .expect("write");
        let manifest = Manifest::load(&path).expect("manifest");
        let err = base_flags(&manifest, &path).expect_err("refused");
        assert!(matches!(err, LaunchError::Usage(_)));
        assert!(err.to_string().contains("\"90%\" has value 95"), "{err}");
    }

    fn script(dir: &Path, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(SharedBinary::NAME);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    #[test]
    fn an_instance_made_from_another_carries_its_own_port_and_id_only() {
        let catalog = apiary_manifest::Service {
            port: 8001,
            ..service("catalog", None)
        };
        let first = PlannedService {
            name: "catalog".into(),
            service: "catalog".into(),
            instance: 1,
            host: "127.0.0.1".into(),
            port: 8001,
            extra_ports: Vec::new(),
            binary: PathBuf::from("catalog"),
            arg0: None,
            args: Vec::new(),
            env: vec![
                (PORT_VAR.to_owned(), "8001".to_owned()),
                (
                    "OTEL_RESOURCE_ATTRIBUTES".to_owned(),
                    "service.namespace=apiary".to_owned(),
                ),
            ],
            colour: 0,
            ready_url: None,
        };
        // Live scaling makes instance 3 from instance 1's plan.
        let one = instance_of(&first, &catalog, 1).expect("one");
        let three = instance_of(&one, &catalog, 3).expect("three");
        assert_eq!((three.name.as_str(), three.port), ("catalog-3", 8201));
        assert_eq!(
            three.env,
            vec![
                (PORT_VAR.to_owned(), "8201".to_owned()),
                (
                    "OTEL_RESOURCE_ATTRIBUTES".to_owned(),
                    "service.namespace=apiary,service.instance.id=catalog-3".to_owned()
                ),
            ]
        );
    }

    fn service(name: &str, binary: Option<&str>) -> apiary_manifest::Service {
        apiary_manifest::Service {
            name: name.to_owned(),
            port: 9000,
            description: String::new(),
            binary: binary.map(str::to_owned),
            depends_on: Vec::new(),
            store: None,
            publishes: Vec::new(),
            consumes: Vec::new(),
            slo: None,
            replicas: None,
        }
    }

    #[test]
    fn the_shared_binary_runs_the_services_it_lists_unless_the_manifest_names_another() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(SharedBinary::find(dir.path()), None, "not built");
        script(
            dir.path(),
            "[ \"$1\" = --list ] && printf 'catalog\\ncart\\n'",
        );
        let shared = SharedBinary::find(dir.path()).expect("found");
        assert_eq!(shared.services, ["catalog", "cart"]);
        assert!(shared.runs(&service("catalog", None)));
        assert!(
            !shared.runs(&service("pricing", None)),
            "not one of its own"
        );
        assert!(
            !shared.runs(&service("catalog", Some("my-catalog"))),
            "the manifest names its own binary"
        );
        script(dir.path(), "exit 3");
        assert_eq!(
            SharedBinary::find(dir.path()),
            None,
            "a broken one is skipped"
        );
    }
}
