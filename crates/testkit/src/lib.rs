//! Test scaffolding shared by the services' API tests (a dev-dependency only).
//!
//! Every service's `tests/api/helpers.rs` keeps what is its own (configuration, wiremock
//! mounts, request bodies) and takes the rest from here.
//!
//! # Layout
//! - [`Served`] — an [`apiary_chassis::server::Service`] running on a Tokio task at
//!   `127.0.0.1:0`, with a client and `get`/`post_json`/... helpers; stopped when dropped, or
//!   with [`Served::stop`] when the test must know it has let go of its data (restarts).
//!   [`served_app!`] lets a service's `TestApp` wrap one and add its own helpers.
//! - [`error_body`], [`error_code`] — the standard `{"error": {"code", "message"}}` body.
//! - [`metric_value`], [`metric_sample`] — one sample from the `/metrics` text.
//! - [`ServiceBinary`] — the real service binary on a free port with its data in a directory,
//!   killed when dropped or with [`ServiceBinary::kill`] (crash tests); [`free_port`],
//!   [`wait_ready`].
//! - [`BrokerNode`] — a private RabbitMQ node on free ports (the one `apiary up` starts).
//! - [`events`] — order events as the orders service writes them (consumers' tests).
//! - [`stack`] — the repository's whole stack as a manifest on free ports, for the end-to-end
//!   tests that run `apiary up` (launcher and browser tests).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use apiary_chassis::server::Service;
use serde_json::Value;

pub mod broker;
pub mod events;
pub mod stack;

pub use broker::BrokerNode;

/// How long a stopping server may take to let go of its listener and data.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Readiness polls of a started binary, and the pause between them (10 s in all).
const READY_POLLS: u32 = 200;
const READY_POLL_EVERY: Duration = Duration::from_millis(50);

/// A service serving on its own task until stopped.
pub struct Served {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub http: reqwest::Client,
    /// Dropping it (with the rest of `Served`) starts the graceful shutdown.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The service's data directory when it is the app's own (see [`Served::owning`]).
    _dir: Option<tempfile::TempDir>,
}

impl Served {
    /// Runs `app` (already bound, e.g. to `127.0.0.1:0`) with a default client.
    pub fn start<S: Service + 'static>(app: S) -> Self {
        Self::start_with_client(app, reqwest::Client::new())
    }

    /// Runs `app`; requests go through `http` (e.g. one that follows no redirects).
    pub fn start_with_client<S: Service + 'static>(app: S, http: reqwest::Client) -> Self {
        let address = format!("http://127.0.0.1:{}", app.port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            // A send or a dropped sender: either way, stop.
            let _ = stopped.await;
        }));
        Self {
            address,
            http,
            stop: Some(stop),
            task: Some(task),
            _dir: None,
        }
    }

    /// Keeps `dir` (the service's data directory) as long as the app: deleted with it.
    pub fn owning(mut self, dir: tempfile::TempDir) -> Self {
        self._dir = Some(dir);
        self
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("request")
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// A POST without a body.
    pub async fn post_empty(&self, path: &str) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// Stops the server and waits (bounded) until it has stopped, so that another instance
    /// can open the same data directory.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(STOP_TIMEOUT, task).await;
        }
    }
}

/// `impl Deref<Target = Served>` for a service's `TestApp`, so that tests reach the address,
/// the client and the request helpers directly (`app.get(..)`, `app.http`) while the
/// `TestApp` adds the service's own helpers: `served_app!(TestApp, served)` or, for a tuple
/// struct, `served_app!(TestApp, 0)`.
#[macro_export]
macro_rules! served_app {
    ($app:ty, $field:tt) => {
        impl ::std::ops::Deref for $app {
            type Target = $crate::Served;

            fn deref(&self) -> &$crate::Served {
                &self.$field
            }
        }
    };
}

/// Asserts the standard error body and returns its code and message.
pub async fn error_body(resp: reqwest::Response) -> (String, String) {
    let body: Value = resp.json().await.expect("json error body");
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message in {body}"))
        .to_owned();
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
        .to_owned();
    (code, message)
}

/// Asserts the standard error body and returns its code.
pub async fn error_code(resp: reqwest::Response) -> String {
    error_body(resp).await.0
}

/// The value of the first sample whose line is `series` (name and labels, exactly as
/// rendered) and a value; `None` if there is none.
pub fn metric_sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// [`metric_sample`], 0 when absent (a counter nothing has incremented yet).
pub fn metric_value(text: &str, series: &str) -> f64 {
    metric_sample(text, series).unwrap_or(0.0)
}

/// GET `url`, panicking with the URL unless it answers 2xx.
pub async fn get_ok(http: &reqwest::Client, url: &str) -> reqwest::Response {
    let resp = http
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    resp
}

/// The `/metrics` page of the process at `base_url` (see [`get_ok`]).
pub async fn metrics_page(http: &reqwest::Client, base_url: &str) -> String {
    let url = format!("{base_url}/metrics");
    let resp = get_ok(http, &url).await;
    resp.text().await.unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// The ports [`free_port`] hands out: below Linux's ephemeral range (32768-60999), so no
/// outgoing connection's local port can take one between the check and the service's bind.
const TEST_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A loopback port that was free a moment ago and that this process has not handed out
/// before. Asking the kernel for port 0 and letting it go is racy twice over: the kernel may
/// give the same port to the next caller (two services of one test stack on one port), and
/// it sits in the ephemeral range that every outgoing connection draws from. So ports come
/// from a range of their own, walked from an offset chosen by the process id (two test
/// processes start far apart), each checked by binding it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let span = u32::from(TEST_PORTS.end - TEST_PORTS.start);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7919) % span,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..span {
        let step = NEXT.fetch_add(1, Ordering::SeqCst) % span;
        let port = TEST_PORTS.start + u16::try_from(step).expect("step is below the span");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {TEST_PORTS:?}")
}

/// Polls `GET {base}/health/ready` until it answers 200, for at most 10 s; `what` names the
/// service in the panic.
pub async fn wait_ready(http: &reqwest::Client, base: &str, what: &str) {
    for _ in 0..READY_POLLS {
        if let Ok(resp) = http.get(format!("{base}/health/ready")).send().await
            && resp.status() == 200
        {
            return;
        }
        tokio::time::sleep(READY_POLL_EVERY).await;
    }
    panic!("{what} did not become ready at {base}");
}

/// The real service binary as a child process: the test that a SIGKILL loses nothing
/// answered. Killed when dropped, however the test ends.
pub struct ServiceBinary {
    child: Child,
    base: String,
}

impl ServiceBinary {
    /// Starts `program` (`env!("CARGO_BIN_EXE_<name>")`) on a free loopback port with
    /// `APIARY_DATA_DIR=data_dir`, telemetry export off and no supervisor, and waits until it
    /// is ready.
    pub async fn start(program: &str, data_dir: &Path) -> Self {
        Self::start_with_args(program, &[], data_dir).await
    }

    /// As [`ServiceBinary::start`], with command-line arguments (`apiary-shop catalog`).
    pub async fn start_with_args(program: &str, args: &[&str], data_dir: &Path) -> Self {
        Self::start_with_env(program, args, &[], data_dir).await
    }

    /// As [`ServiceBinary::start_with_args`], with extra environment variables (downstream
    /// URLs, test hooks).
    pub async fn start_with_env(
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        data_dir: &Path,
    ) -> Self {
        let name = Path::new(program)
            .file_name()
            .map_or_else(|| program.to_owned(), |n| n.to_string_lossy().into_owned());
        let port = free_port();
        let child = Command::new(program)
            .args(args)
            .env("APIARY_HOST", "127.0.0.1")
            .env("APIARY_PORT", port.to_string())
            .env("APIARY_DATA_DIR", data_dir)
            .env("OTEL_SDK_DISABLED", "true")
            .env("RUST_LOG", "warn")
            .env_remove("APIARY_SUPERVISOR_PID")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("start the {name} binary: {err}"));
        let running = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        wait_ready(
            &reqwest::Client::new(),
            &running.base,
            &format!("the {name} binary"),
        )
        .await;
        running
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Waits (bounded) for the process to end by itself (a crash); `None` if it is still
    /// running after `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let until = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL and reap: no shutdown hook runs, nothing is flushed by the service.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }
}

impl Drop for ServiceBinary {
    fn drop(&mut self) {
        // Already gone after `kill`; then both calls fail harmlessly.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A stand-in service: answers `body` with a 404 on every path.
    struct Fake {
        listener: tokio::net::TcpListener,
        body: Value,
    }

    impl Service for Fake {
        fn port(&self) -> u16 {
            self.listener
                .local_addr()
                .map(|a| a.port())
                .unwrap_or_default()
        }

        async fn run_until_stopped(
            self,
            shutdown: impl Future<Output = ()> + Send + 'static,
        ) -> std::io::Result<()> {
            let body = self.body;
            let router = axum::Router::new().fallback(move || async move {
                (axum::http::StatusCode::NOT_FOUND, axum::Json(body))
            });
            axum::serve(self.listener, router)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }

    async fn fake(body: Value) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        Served::start(Fake { listener, body })
    }

    #[tokio::test]
    async fn a_served_service_answers_until_stopped() {
        let app = fake(json!({"error": {"code": "nope", "message": "not here"}})).await;
        assert!(app.address.starts_with("http://127.0.0.1:"));
        assert_eq!(app.url("/x"), format!("{}/x", app.address));
        let resp = app.get("/anything").await;
        assert_eq!(resp.status(), 404);
        assert_eq!(
            error_body(resp).await,
            ("nope".to_owned(), "not here".to_owned())
        );
        assert_eq!(error_code(app.post_empty("/x").await).await, "nope");
        assert_eq!(
            error_code(app.post_json("/x", &json!({})).await).await,
            "nope"
        );
        assert_eq!(
            error_code(app.put_json("/x", &json!({})).await).await,
            "nope"
        );
        assert_eq!(error_code(app.delete("/x").await).await, "nope");
        let address = app.address.clone();
        app.stop().await;
        assert!(reqwest::get(format!("{address}/x")).await.is_err());
    }

    #[tokio::test]
    #[should_panic(expected = "no error code")]
    async fn a_body_without_a_code_is_not_an_error_body() {
        let app = fake(json!({"error": {"message": "not here"}})).await;
        error_code(app.get("/x").await).await;
    }

    #[tokio::test]
    #[should_panic(expected = "no error message")]
    async fn a_body_without_a_message_is_not_an_error_body() {
        let app = fake(json!({"error": {"code": "nope"}})).await;
        error_code(app.get("/x").await).await;
    }

    /// A service's `TestApp` as the services write it.
    struct Wrapped(Served);
    served_app!(Wrapped, 0);

    #[tokio::test]
    async fn a_wrapped_app_reaches_the_served_one_and_owns_its_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().to_owned();
        let served = fake(json!({"error": {"code": "nope", "message": "not here"}})).await;
        let app = Wrapped(served.owning(dir));
        assert_eq!(app.get("/x").await.status(), 404);
        assert!(app.address.starts_with("http://"));
        assert!(path.exists());
        drop(app);
        assert!(!path.exists(), "{}", path.display());
    }

    #[test]
    fn metric_samples_match_the_whole_series() {
        let text = "\
# TYPE shop_x_total counter
shop_x_total_more 9
shop_x_total 3
shop_y_total{zone=\"eu\"} 2.5
";
        assert_eq!(metric_sample(text, "shop_x_total"), Some(3.0));
        assert_eq!(metric_value(text, r#"shop_y_total{zone="eu"}"#), 2.5);
        assert_eq!(metric_sample(text, "shop_y_total"), None);
        assert_eq!(metric_value(text, "shop_z_total"), 0.0);
    }

    #[tokio::test]
    async fn a_free_port_can_be_bound() {
        let port = free_port();
        assert_ne!(port, 0);
        let bound = tokio::net::TcpListener::bind(("127.0.0.1", port)).await;
        assert!(bound.is_ok(), "{port}");
    }

    #[tokio::test]
    async fn waiting_for_readiness_returns_once_ready() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let router = axum::Router::new().route(
            "/health/ready",
            axum::routing::get(|| async { axum::http::StatusCode::OK }),
        );
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        tokio::time::timeout(
            Duration::from_secs(5),
            wait_ready(&reqwest::Client::new(), &base, "the fake"),
        )
        .await
        .expect("ready in time");
        server.abort();
    }
}
