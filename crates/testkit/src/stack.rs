//! The repository's stack written as a test manifest: every service of `apiary.toml` (same
//! dependencies and stores, so the shipped fault flags and drills fit) on free ports, with its
//! own data directory, for end-to-end tests that run `apiary up` on it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use apiary_manifest::Manifest;

use crate::free_port;

/// The repository's root (where `apiary.toml`, `drills/` and `target/` are).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh scratch directory `<temp>/apiary-<kind>-<tag>-<pid>` (emptied if a crashed earlier
/// run left it behind).
pub fn scratch_dir(kind: &str, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apiary-{kind}-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The dashboard's three ports.
#[derive(Debug, Clone, Copy)]
pub struct DashboardPorts {
    pub ui: u16,
    pub grpc: u16,
    pub http: u16,
}

impl DashboardPorts {
    pub fn free() -> Self {
        Self {
            ui: free_port(),
            grpc: free_port(),
            http: free_port(),
        }
    }
}

/// How many services the repository's stack has.
pub fn service_count() -> usize {
    Manifest::load(&repo_root().join("apiary.toml"))
        .expect("the repository's apiary.toml is valid")
        .services
        .len()
}

/// The repository's stack on free ports, written to `dir/apiary.toml` with `dir/data` as its
/// data directory.
#[derive(Debug)]
pub struct StackManifest {
    pub path: PathBuf,
    pub ports: BTreeMap<String, u16>,
    pub dashboard: Option<DashboardPorts>,
    pub data_dir: PathBuf,
    /// The broker's port mapper, when [`StackManifest::with_broker`] added one.
    pub broker_epmd: Option<u16>,
}

impl StackManifest {
    pub fn write(dir: &Path, dashboard: Option<DashboardPorts>) -> Self {
        Self::write_with_load(dir, dashboard, None)
    }

    /// As [`StackManifest::write`], with a `[load]` section at `rate` journeys a second on a
    /// free control port.
    pub fn write_with_load(
        dir: &Path,
        dashboard: Option<DashboardPorts>,
        load_rate: Option<f64>,
    ) -> Self {
        Self::write_full(dir, dashboard, load_rate, None)
    }

    /// As [`StackManifest::write_with_load`], with a `[faults]` section: the flag file and the
    /// drills directory given (absolute paths); [`StackManifest::shipped_faults`] gives the
    /// repository's.
    pub fn write_full(
        dir: &Path,
        dashboard: Option<DashboardPorts>,
        load_rate: Option<f64>,
        faults: Option<(&Path, &Path)>,
    ) -> Self {
        let real = Manifest::load(&repo_root().join("apiary.toml"))
            .expect("the repository's apiary.toml is valid");
        let data_dir = dir.join("data");
        let otlp = dashboard.map_or(4317, |d| d.grpc);
        let mut text = format!(
            "[stack]\nhost = \"127.0.0.1\"\nnamespace = \"apiary\"\nenvironment = \"test\"\ndata_dir = \"{}\"\n\n[telemetry]\notlp_endpoint = \"http://127.0.0.1:{otlp}\"\notlp_protocol = \"grpc\"\n\n",
            data_dir.display()
        );
        if let Some(d) = dashboard {
            text.push_str(&format!(
                "[dashboard]\nport = {}\notlp_grpc_port = {}\notlp_http_port = {}\n\n",
                d.ui, d.grpc, d.http
            ));
        }
        if let Some((flags, drills)) = faults {
            text.push_str(&format!(
                "[faults]\nflags = \"{}\"\ndrills = \"{}\"\n\n",
                flags.display(),
                drills.display()
            ));
        }
        let mut ports = BTreeMap::new();
        if let Some(rate) = load_rate {
            let port = free_port();
            ports.insert("load".to_owned(), port);
            text.push_str(&format!("[load]\nrate = {rate}\ncontrol_port = {port}\n\n"));
        }
        for s in &real.services {
            let port = free_port();
            ports.insert(s.name.clone(), port);
            let deps: Vec<String> = s.depends_on.iter().map(|d| format!("\"{d}\"")).collect();
            let store = match s.store {
                Some(apiary_manifest::Store::Sqlite) => "store = \"sqlite\"\n",
                Some(apiary_manifest::Store::Memory) => "store = \"memory\"\n",
                None => "",
            };
            let list = |events: &[String]| {
                events
                    .iter()
                    .map(|e| format!("\"{e}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            text.push_str(&format!(
                "[[services]]\nname = \"{}\"\nport = {port}\ndepends_on = [{}]\n{store}publishes = [{}]\nconsumes = [{}]\n\n",
                s.name,
                deps.join(", "),
                list(&s.publishes),
                list(&s.consumes),
            ));
        }
        let path = dir.join("apiary.toml");
        std::fs::write(&path, text).expect("write manifest");
        Self {
            path,
            ports,
            dashboard,
            data_dir,
            broker_epmd: None,
        }
    }

    /// Adds a `[broker]` section on free ports: `apiary up` then starts a private RabbitMQ node
    /// for the stack (its data under the stack's data directory).
    pub fn with_broker(mut self) -> Self {
        let ports = [free_port(), free_port(), free_port(), free_port()];
        let section = format!(
            "\n[broker]\nport = {}\nprometheus_port = {}\ndist_port = {}\nepmd_port = {}\n",
            ports[0], ports[1], ports[2], ports[3]
        );
        let mut text = std::fs::read_to_string(&self.path).expect("read manifest");
        // Before the first [[services]] table, so the section is not read as part of it.
        let at = text.find("[[services]]").unwrap_or(text.len());
        text.insert_str(at, &format!("{section}\n"));
        std::fs::write(&self.path, text).expect("write manifest");
        self.ports.insert("broker".to_owned(), ports[0]);
        self.ports.insert("broker-metrics".to_owned(), ports[1]);
        self.broker_epmd = Some(ports[3]);
        self
    }

    /// Sets the dashboard's `forward_otlp` (an external collector's OTLP/HTTP base URL).
    pub fn with_forward_otlp(self, url: &str) -> Self {
        let text = std::fs::read_to_string(&self.path).expect("read manifest");
        let at = text
            .find("[dashboard]\n")
            .expect("a [dashboard] section to forward from")
            + "[dashboard]\n".len();
        let mut text = text;
        text.insert_str(at, &format!("forward_otlp = \"{url}\"\n"));
        std::fs::write(&self.path, text).expect("write manifest");
        self
    }

    /// The repository's flag file and drills directory, for [`StackManifest::write_full`].
    pub fn shipped_faults() -> (PathBuf, PathBuf) {
        (
            repo_root().join("drills/flags.flagd.json"),
            repo_root().join("drills"),
        )
    }

    pub fn port(&self, service: &str) -> u16 {
        self.ports[service]
    }

    pub fn url(&self, service: &str) -> String {
        format!("http://127.0.0.1:{}", self.port(service))
    }
}
