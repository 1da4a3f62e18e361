//! The link to the broker: configuration, connecting (with the topology declared), the state the
//! readiness check reports, and the reconnect loop every worker runs in.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apiary_env::{EnvError, Source};
use futures_util::StreamExt as _;
use lapin::{Connection, ConnectionProperties, Event};
use tokio::sync::watch;

use crate::topology;

/// `APIARY_BROKER_URL`: where the broker is (`amqp://user:password@host:port/vhost`); unset, the
/// service runs without messaging (its outbox keeps events until a broker is configured).
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    url: Option<String>,
}

impl std::fmt::Debug for BrokerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConfig")
            .field("url", &self.url.as_deref().map(redact))
            .finish()
    }
}

/// The URL with its password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

impl BrokerConfig {
    pub const VAR: &'static str = "APIARY_BROKER_URL";

    pub fn from_source(src: &impl Source) -> Result<Self, EnvError> {
        let url = apiary_env::raw(src, Self::VAR).filter(|u| !u.is_empty());
        if let Some(url) = &url
            && !url.starts_with("amqp://")
        {
            return Err(EnvError {
                var: Self::VAR.to_owned(),
                expected: "an amqp:// URL".to_owned(),
                found: redact(url),
            });
        }
        Ok(Self { url })
    }

    /// A broker at `url` (tests).
    pub fn at(url: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
        }
    }

    /// No broker: messaging off.
    pub fn none() -> Self {
        Self { url: None }
    }

    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }
}

/// Where the link stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Not connected yet (start-up).
    Connecting,
    Connected,
    /// The last attempt or the connection failed; the worker is retrying.
    Down(String),
}

/// The broker link is not up (the readiness check's error).
#[derive(Debug, thiserror::Error)]
pub enum BrokerDown {
    #[error("connecting to the broker")]
    Connecting,
    #[error("broker unreachable: {0}")]
    Down(String),
}

/// A service's link to the broker. Cheap to clone; the clones share the state.
#[derive(Clone)]
pub struct Broker {
    url: Arc<str>,
    name: Arc<str>,
    state: Arc<watch::Sender<LinkState>>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("url", &redact(&self.url))
            .field("state", &*self.state.borrow())
            .finish()
    }
}

/// Why the link is down while the broker-down fault cuts this service off.
const CUT: &str = "cut from the broker (the broker-down fault)";

/// Whether the broker-down fault cuts this service from the broker now.
async fn cut() -> bool {
    match apiary_faults::runtime::get() {
        Some(faults) => faults.broker_cut().await,
        None => false,
    }
}

/// Returns once the broker-down fault cuts this service off (checked every 250 ms).
async fn cut_off() {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if cut().await {
            return;
        }
    }
}

/// Reconnect delays: 250 ms doubling to 5 s.
const FIRST_RETRY: Duration = Duration::from_millis(250);
const MAX_RETRY: Duration = Duration::from_secs(5);

impl Broker {
    /// A link to `url`; `connection_name` shows in the broker's connection list (the service).
    pub fn new(url: &str, connection_name: &str) -> Self {
        Self {
            url: url.into(),
            name: connection_name.into(),
            state: Arc::new(watch::channel(LinkState::Connecting).0),
        }
    }

    /// The link for `config`, `None` when no broker is configured.
    pub fn from_config(config: &BrokerConfig, connection_name: &str) -> Option<Self> {
        config.url().map(|url| Self::new(url, connection_name))
    }

    pub fn state(&self) -> LinkState {
        self.state.borrow().clone()
    }

    /// Waits until the link is connected (tests, and drills that wait for recovery).
    pub async fn connected(&self) {
        let mut rx = self.state.subscribe();
        let _ = rx.wait_for(|s| *s == LinkState::Connected).await;
    }

    /// The readiness check `broker`: `Ok` when connected.
    pub fn check(&self) -> Result<(), BrokerDown> {
        match self.state() {
            LinkState::Connected => Ok(()),
            LinkState::Connecting => Err(BrokerDown::Connecting),
            LinkState::Down(why) => Err(BrokerDown::Down(why)),
        }
    }

    /// [`Broker::check`] as a readiness check function (the chassis's `reports("broker", ..)`).
    pub fn readiness(
        &self,
    ) -> impl Fn() -> std::future::Ready<Result<(), BrokerDown>> + Send + Sync + 'static {
        let link = self.clone();
        move || std::future::ready(link.check())
    }

    /// Opens a connection and declares the topology on it.
    pub async fn connect(&self) -> Result<Connection, lapin::Error> {
        let properties =
            ConnectionProperties::default().with_connection_name(self.name.as_ref().into());
        let connection = Connection::connect(&self.url, properties).await?;
        let channel = connection.create_channel().await?;
        topology::declare(&channel).await?;
        let _ = channel.close(200, "topology declared".into()).await;
        Ok(connection)
    }

    fn set(&self, state: LinkState) {
        self.state.send_replace(state);
    }

    /// Runs `session` on a fresh connection, again and again: whenever connecting fails, the
    /// session returns an error or the connection reports one, the link is marked down, the
    /// connection closed, and a new one tried after a backoff (250 ms doubling to 5 s). One
    /// warning per outage, one line when it ends. Never returns: run it as a background task.
    pub async fn supervise<F, Fut, E>(self, worker: &'static str, mut session: F)
    where
        F: FnMut(Arc<Connection>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut delay = FIRST_RETRY;
        let mut outage = false;
        loop {
            if cut().await {
                self.down(worker, CUT, &mut outage);
                tokio::time::sleep(FIRST_RETRY).await;
                continue;
            }
            match self.connect().await {
                Ok(connection) => {
                    let connection = Arc::new(connection);
                    if std::mem::take(&mut outage) {
                        tracing::info!(worker, "broker link restored");
                    }
                    self.set(LinkState::Connected);
                    delay = FIRST_RETRY;
                    let mut events = connection.events_listener();
                    let failed = async {
                        while let Some(event) = events.next().await {
                            if let Event::Error(e) = event {
                                return e;
                            }
                        }
                        std::future::pending().await
                    };
                    let why = tokio::select! {
                        ended = session(connection.clone()) => match ended {
                            Ok(()) => "session ended".to_owned(),
                            Err(e) => e.to_string(),
                        },
                        e = failed => e.to_string(),
                        () = cut_off() => CUT.to_owned(),
                    };
                    let _ = connection.close(320, "reconnecting".into()).await;
                    self.down(worker, &why, &mut outage);
                }
                Err(e) => self.down(worker, &e.to_string(), &mut outage),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RETRY);
        }
    }

    fn down(&self, worker: &'static str, why: &str, outage: &mut bool) {
        if !std::mem::replace(outage, true) {
            tracing::warn!(worker, error = why, "broker link down; retrying");
        }
        self.set(LinkState::Down(why.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_optional_and_must_be_amqp() {
        let none = BrokerConfig::from_source(&[("UNRELATED", "x")]).expect("unset is fine");
        assert_eq!(none.url(), None);
        let set = BrokerConfig::from_source(&[(
            BrokerConfig::VAR,
            "amqp://guest:guest@127.0.0.1:5672/%2f",
        )])
        .expect("amqp url");
        assert_eq!(set.url(), Some("amqp://guest:guest@127.0.0.1:5672/%2f"));
        let err = BrokerConfig::from_source(&[(BrokerConfig::VAR, "http://u:secret@x")])
            .expect_err("not amqp");
        assert_eq!(err.var, BrokerConfig::VAR);
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn passwords_never_print() {
        assert_eq!(
            redact("amqp://guest:guest@h:1/%2f"),
            "amqp://guest:***@h:1/%2f"
        );
        assert_eq!(redact("amqp://h:1"), "amqp://h:1");
        let config = BrokerConfig::at("amqp://u:hunter2@h:1");
        assert!(!format!("{config:?}").contains("hunter2"));
        let broker = Broker::new("amqp://u:hunter2@h:1", "test");
        assert!(!format!("{broker:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn an_unreachable_broker_marks_the_link_down_and_the_check_fails() {
        // A port nothing listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let broker = Broker::new(&format!("amqp://127.0.0.1:{port}/%2f"), "test");
        assert!(matches!(broker.check(), Err(BrokerDown::Connecting)));
        let worker = tokio::spawn(
            broker
                .clone()
                .supervise("test", |_c| async { Ok::<(), lapin::Error>(()) }),
        );
        let mut rx = broker.state.subscribe();
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            rx.wait_for(|s| matches!(s, LinkState::Down(_))),
        )
        .await;
        worker.abort();
        assert!(
            matches!(broker.check(), Err(BrokerDown::Down(_))),
            "{:?}",
            broker.state()
        );
    }
}
