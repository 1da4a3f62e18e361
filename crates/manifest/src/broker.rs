//! `[broker]`: the stack's message broker (RabbitMQ, AMQP 0.9.1).
//!
//! By default `apiary up` starts a private RabbitMQ node for the stack — Debian's
//! `rabbitmq-server`, with everything of its own under `<data dir>/broker` (database, Erlang
//! cookie, generated config), its own ports from the manifest, bound to the stack's host, and the
//! `rabbitmq_prometheus` plugin on for queue depths. When `url` is set, an existing broker is used
//! and none is started.
//!
//! [`Node`] is that private node as data — program, environment, files — so the launcher and the
//! tests start exactly the same thing.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The variable through which services learn the broker's URL.
pub const BROKER_URL_VAR: &str = "APIARY_BROKER_URL";
/// The user the private node is created with (its password is generated per data directory).
pub const USER: &str = "apiary";

/// `[broker]` in `apiary.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Broker {
    /// An existing broker (`amqp://user:password@host:port/vhost`): nothing is started.
    pub url: Option<String>,
    /// The private node's AMQP port.
    pub port: u16,
    /// Its Prometheus endpoint (`/metrics`, `/metrics/detailed`): queue depths, consumers.
    pub prometheus_port: u16,
    /// Erlang distribution (the node's own CLI tools reach it there; loopback only).
    pub dist_port: u16,
    /// Its own Erlang port mapper, so it never meets another Erlang node on this machine.
    pub epmd_port: u16,
}

impl Broker {
    /// Every port the private node binds.
    pub fn ports(&self) -> [u16; 4] {
        [
            self.port,
            self.prometheus_port,
            self.dist_port,
            self.epmd_port,
        ]
    }

    /// Whether `apiary up` starts a node (no `url`).
    pub fn private(&self) -> bool {
        self.url.is_none()
    }
}

/// The private node's ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodePorts {
    pub amqp: u16,
    pub prometheus: u16,
    pub dist: u16,
    pub epmd: u16,
}

impl From<&Broker> for NodePorts {
    fn from(b: &Broker) -> Self {
        Self {
            amqp: b.port,
            prometheus: b.prometheus_port,
            dist: b.dist_port,
            epmd: b.epmd_port,
        }
    }
}

/// Where Debian installs the server start script that runs in the foreground (`/usr/sbin`'s
/// wrapper switches to the `rabbitmq` user, which a private node must not).
pub const DEBIAN_SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

/// The server start script, if RabbitMQ is installed.
pub fn find_server() -> Option<PathBuf> {
    let debian = Path::new(DEBIAN_SERVER);
    if debian.is_file() {
        return Some(debian.to_owned());
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("rabbitmq-server"))
            .find(|p| p.is_file())
    })
}

/// A private RabbitMQ node, as data.
#[derive(Clone, PartialEq, Eq)]
pub struct Node {
    /// `<data dir>/broker`.
    pub dir: PathBuf,
    pub host: String,
    pub ports: NodePorts,
    password: String,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("dir", &self.dir)
            .field("host", &self.host)
            .field("ports", &self.ports)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// The node for `data_dir`, its password read from `<data dir>/broker/password` or
    /// generated there (owner-only) the first time: the node creates its user with it on its
    /// first boot, so it must stay the same for the life of the node's database.
    pub fn prepare(data_dir: &Path, host: &str, ports: NodePorts) -> std::io::Result<Self> {
        let dir = data_dir.join("broker");
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("password");
        let password = match std::fs::read_to_string(&file) {
            Ok(p) if !p.trim().is_empty() => p.trim().to_owned(),
            _ => {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                let password = crate::random_token()?;
                let _ = std::fs::remove_file(&file);
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&file)?
                    .write_all(password.as_bytes())?;
                password
            }
        };
        let node = Self {
            dir,
            host: host.to_owned(),
            ports,
            password,
        };
        node.write_config()?;
        Ok(node)
    }

    /// The URL services connect with (a 10 s heartbeat, so a dead broker is noticed quickly).
    pub fn url(&self) -> String {
        format!(
            "amqp://{USER}:{}@{}:{}/%2f?heartbeat=10",
            self.password, self.host, self.ports.amqp
        )
    }

    /// The Prometheus endpoint's base URL.
    pub fn prometheus_url(&self) -> String {
        format!("http://{}:{}", self.host, self.ports.prometheus)
    }

    /// `rabbitmq.conf`: listeners on the stack's host only, the user, console logging (the
    /// launcher prefixes it like every process's output), Prometheus on its port, and queue
    /// statistics every second instead of RabbitMQ's default five, so the dashboard's 1-second
    /// view of queue depths and dead letters is not four seconds stale (a poison message in a
    /// time-compressed drill could come and go between two of the broker's updates).
    pub fn config(&self) -> String {
        let Self {
            host,
            ports,
            password,
            ..
        } = self;
        format!(
            "# Written by apiary on every start; edit apiary.toml's [broker] instead.\n\
             listeners.tcp.1 = {host}:{amqp}\n\
             prometheus.tcp.ip = {host}\n\
             prometheus.tcp.port = {prometheus}\n\
             default_user = {USER}\n\
             default_pass = {password}\n\
             default_vhost = /\n\
             loopback_users = none\n\
             log.console = true\n\
             log.console.level = warning\n\
             log.file = false\n\
             disk_free_limit.absolute = 50MB\n\
             collect_statistics_interval = 1000\n",
            amqp = ports.amqp,
            prometheus = ports.prometheus,
        )
    }

    fn write_config(&self) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let conf = self.dir.join("rabbitmq.conf");
        std::fs::write(&conf, self.config())?;
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600))?;
        std::fs::write(self.dir.join("enabled_plugins"), "[rabbitmq_prometheus].\n")
    }

    /// The node's environment. `RUNNING_UNDER_SYSTEMD` makes Debian's script `exec` the VM, so
    /// the launcher's SIGTERM reaches RabbitMQ itself (a graceful stop) instead of a shell.
    pub fn env(&self) -> Vec<(String, String)> {
        let dir = self.dir.display().to_string();
        let interface = self
            .host
            .parse::<std::net::Ipv4Addr>()
            .map(|ip| {
                let [a, b, c, d] = ip.octets();
                format!(" -kernel inet_dist_use_interface {{{a},{b},{c},{d}}}")
            })
            .unwrap_or_default();
        let pairs = [
            ("HOME", dir.clone()),
            ("RABBITMQ_NODENAME", "apiary@localhost".to_owned()),
            ("RABBITMQ_CONFIG_FILE", format!("{dir}/rabbitmq")),
            (
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                format!("{dir}/enabled_plugins"),
            ),
            ("RABBITMQ_MNESIA_BASE", format!("{dir}/mnesia")),
            ("RABBITMQ_LOG_BASE", format!("{dir}/log")),
            ("RABBITMQ_PID_FILE", format!("{dir}/rabbitmq.pid")),
            ("RABBITMQ_NODE_PORT", self.ports.amqp.to_string()),
            ("RABBITMQ_DIST_PORT", self.ports.dist.to_string()),
            ("ERL_EPMD_PORT", self.ports.epmd.to_string()),
            ("ERL_EPMD_ADDRESS", self.host.clone()),
            (
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                format!("+S 2:2{interface}"),
            ),
            ("RUNNING_UNDER_SYSTEMD", "true".to_owned()),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORTS: NodePorts = NodePorts {
        amqp: 5672,
        prometheus: 15692,
        dist: 25672,
        epmd: 4370,
    };

    #[test]
    fn the_node_keeps_its_password_and_binds_only_the_stack_host() {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = Node::prepare(dir.path(), "127.0.0.1", PORTS).expect("prepare");
        let again = Node::prepare(dir.path(), "127.0.0.1", PORTS).expect("prepare again");
        assert_eq!(node.url(), again.url(), "the password survives restarts");
        assert!(node.url().starts_with("amqp://apiary:"));
        assert!(node.url().contains("@127.0.0.1:5672/%2f"));
        assert!(
            !format!("{node:?}").contains(&node.password),
            "Debug hides the password"
        );

        let conf = std::fs::read_to_string(node.dir.join("rabbitmq.conf")).expect("conf");
        assert!(conf.contains("listeners.tcp.1 = 127.0.0.1:5672"), "{conf}");
        assert!(conf.contains("prometheus.tcp.ip = 127.0.0.1"), "{conf}");
        assert!(conf.contains("prometheus.tcp.port = 15692"), "{conf}");
        assert!(
            conf.contains("collect_statistics_interval = 1000"),
            "{conf}"
        );
        let plugins = std::fs::read_to_string(node.dir.join("enabled_plugins")).expect("plugins");
        assert!(plugins.contains("rabbitmq_prometheus"));

        let env: std::collections::HashMap<_, _> = node.env().into_iter().collect();
        assert_eq!(env["ERL_EPMD_ADDRESS"], "127.0.0.1");
        assert_eq!(env["ERL_EPMD_PORT"], "4370");
        assert!(env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"].contains("{127,0,0,1}"));
        assert!(env["RABBITMQ_MNESIA_BASE"].starts_with(&node.dir.display().to_string()));
    }
}
