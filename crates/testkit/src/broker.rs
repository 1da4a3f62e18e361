//! A private RabbitMQ node for a test: the same node `apiary up` starts
//! ([`apiary_manifest::broker::Node`]), on free loopback ports with its data in a temporary
//! directory. Start-up takes 10-20 s on two cores, so a test binary starts one and runs its
//! scenarios on it.
//!
//! RabbitMQ is a real dependency of the test suite: `scripts/test.sh` installs Debian's
//! `rabbitmq-server` when missing. A machine without it fails these tests with that message.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use apiary_manifest::broker::{Node, NodePorts, find_server};

use crate::free_port;

/// A running node; stopped (and its port mapper with it) when dropped.
pub struct BrokerNode {
    node: Node,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for BrokerNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerNode")
            .field("node", &self.node)
            .finish()
    }
}

/// How long a node may take to answer (first boot creates its database).
const START_TIMEOUT: Duration = Duration::from_secs(90);

impl BrokerNode {
    /// Starts a node in a fresh temporary directory and waits until it accepts connections.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory for the broker");
        let mut node = Self::start_in(dir.path()).await;
        node._dir = Some(dir);
        node
    }

    /// Starts a node with its data under `data_dir` (`<data_dir>/broker`): restarting on the
    /// same directory keeps its queues and messages.
    pub async fn start_in(data_dir: &Path) -> Self {
        let ports = NodePorts {
            amqp: free_port(),
            prometheus: free_port(),
            dist: free_port(),
            epmd: free_port(),
        };
        let node = Node::prepare(data_dir, "127.0.0.1", ports).expect("prepare the broker node");
        let mut running = Self {
            node,
            child: None,
            _dir: None,
        };
        running.boot().await;
        running
    }

    async fn boot(&mut self) {
        let server = find_server().expect(
            "rabbitmq-server is not installed: scripts/test.sh installs it (apt-get install rabbitmq-server)",
        );
        let log = std::fs::File::create(self.node.dir.join("console.log")).expect("broker log");
        let child = Command::new(server)
            .envs(self.node.env())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start rabbitmq-server");
        self.child = Some(child);
        self.wait_up().await;
    }

    async fn wait_up(&mut self) {
        let http = reqwest::Client::new();
        let probe = format!("{}/metrics", self.node.prometheus_url());
        let until = std::time::Instant::now() + START_TIMEOUT;
        while std::time::Instant::now() < until {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "rabbitmq-server exited ({status}); see {}",
                    self.node.dir.join("console.log").display()
                );
            }
            let amqp = std::net::TcpStream::connect(("127.0.0.1", self.node.ports.amqp)).is_ok();
            let prometheus = http
                .get(&probe)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if amqp && prometheus {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("rabbitmq-server did not start within {START_TIMEOUT:?}");
    }

    /// The URL clients connect with.
    pub fn url(&self) -> String {
        self.node.url()
    }

    /// `http://127.0.0.1:<port>` of its Prometheus endpoint.
    pub fn prometheus_url(&self) -> String {
        self.node.prometheus_url()
    }

    /// Stops the node gracefully (SIGTERM, as `apiary up` does), waits for it to exit (bounded).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
            for _ in 0..120 {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same directory and ports (after [`BrokerNode::stop`]).
    pub async fn restart(&mut self) {
        self.stop().await;
        self.boot().await;
    }

    /// Depth of `queue` (ready + unacknowledged messages), read from the node's Prometheus
    /// endpoint (`/metrics/detailed`, per-queue coarse metrics).
    pub async fn queue_depth(&self, queue: &str) -> Option<f64> {
        let url = format!(
            "{}/metrics/detailed?family=queue_coarse_metrics",
            self.prometheus_url()
        );
        let text = reqwest::get(url).await.ok()?.text().await.ok()?;
        let series = format!("rabbitmq_detailed_queue_messages{{vhost=\"/\",queue=\"{queue}\"}}");
        crate::metric_sample(&text, &series)
    }
}

impl Drop for BrokerNode {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The node's own port mapper outlives the VM; stop it too.
        let _ = Command::new("epmd")
            .args(["-port", &self.node.ports.epmd.to_string(), "-kill"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
