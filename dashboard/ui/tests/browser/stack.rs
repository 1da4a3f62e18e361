//! The stack the browser tests look at: `apiary up` on a temporary manifest with free ports,
//! and shoppers driven through the gateway's JSON API so every page has real data.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub use apiary_testkit::free_port;
pub use apiary_testkit::stack::repo_root;
use apiary_testkit::stack::{DashboardPorts, StackManifest, scratch_dir};

/// A fresh scratch directory named after the test process.
pub fn temp_dir(tag: &str) -> PathBuf {
    scratch_dir("browser", tag)
}

/// `GET url` as JSON; `Null` when it fails (callers poll).
pub async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    match http.get(url).send().await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

/// The binaries: `APIARY_BIN_DIR`, else the profile directory this test was built into.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("APIARY_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("test exe");
    // target/<profile>/deps/browser-<hash>
    exe.parent()
        .and_then(Path::parent)
        .expect("profile dir")
        .to_path_buf()
}

pub struct Stack {
    child: Child,
    pub dashboard: String,
    pub gateway: String,
    /// The dashboard's OTLP/HTTP endpoint (`/v1/traces` and the rest go under it); the
    /// million-span benchmark fills the dashboard through it.
    #[allow(dead_code)]
    pub otlp_http: String,
    dir: PathBuf,
}

impl Stack {
    pub fn start(dir: &Path, site_root: &Path) -> Self {
        Self::start_with(dir, site_root, &[])
    }

    /// [`Stack::start`] with extra environment for `apiary up` and its children.
    pub fn start_with(dir: &Path, site_root: &Path, env: &[(&str, &str)]) -> Self {
        let bins = bin_dir();
        for b in ["apiary", "dashboard", "gateway", "payment"] {
            assert!(
                bins.join(b).is_file(),
                "{b} missing in {}: run `cargo build --workspace --bins` first",
                bins.display()
            );
        }
        // The repository's services on free ports, with the shipped flags and drills.
        let (flags, drills) = StackManifest::shipped_faults();
        let ports = DashboardPorts::free();
        // With the stack's own broker: the asynchronous half (exchange, consumers, span links,
        // awaiting fulfilment) is on the pages too.
        let manifest = StackManifest::write_full(dir, Some(ports), None, Some((&flags, &drills)))
            .with_broker();
        let log = std::fs::File::create(dir.join("apiary.log")).expect("log file");
        let child = Command::new(bins.join("apiary"))
            .arg("up")
            .arg("--manifest")
            .arg(&manifest.path)
            .env("NO_COLOR", "1")
            .env("DASHBOARD_SITE_ROOT", site_root)
            .env("OTEL_BSP_SCHEDULE_DELAY", "200")
            .env("OTEL_BLRP_SCHEDULE_DELAY", "200")
            .envs(env.iter().copied())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start apiary");
        Self {
            child,
            dashboard: format!("http://127.0.0.1:{}", ports.ui),
            gateway: manifest.url("gateway"),
            otlp_http: format!("http://127.0.0.1:{}", ports.http),
            dir: dir.to_path_buf(),
        }
    }

    /// The control token `apiary up` wrote for this stack (what `apiary fault`/`drill` read).
    pub fn control_token(&self) -> String {
        std::fs::read_to_string(self.dir.join("data").join("control.token"))
            .expect("apiary up writes the control token")
            .trim()
            .to_owned()
    }

    /// Waits until the dashboard reports every service of the manifest up.
    pub async fn wait_all_up(&self, http: &reqwest::Client, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            if let Ok(r) = http
                .get(format!("{}/api/services", self.dashboard))
                .send()
                .await
                && let Ok(v) = r.json::<Value>().await
            {
                let up = v
                    .as_array()
                    .map(|a| a.iter().filter(|s| s["health"] == "up").count())
                    .unwrap_or(0);
                if up == apiary_testkit::stack::service_count() {
                    return;
                }
                last = v;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("not all services came up within {timeout:?}: {last}");
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SIGTERM lets the launcher stop its children; then make sure.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Shoppers: browse, add to carts, check out with good and declined cards, ask for products
/// that do not exist. Runs until `stop`; counts requests in `sent`.
pub struct Traffic {
    pub stop: Arc<AtomicBool>,
    pub sent: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Traffic {
    pub fn start(gateway: &str, shoppers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let products: Vec<String> = apiary_seed::products()
            .iter()
            .filter(|p| p.stock >= 40)
            .map(|p| p.id.clone())
            .collect();
        let products = Arc::new(products);
        let tasks = (0..shoppers)
            .map(|n| {
                let (stop, sent, products) = (stop.clone(), sent.clone(), products.clone());
                let gw = gateway.to_owned();
                tokio::spawn(async move {
                    let http = reqwest::Client::builder()
                        .timeout(Duration::from_secs(5))
                        .build()
                        .expect("client");
                    let mut i = n as u64;
                    while !stop.load(Ordering::Relaxed) {
                        i = i
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let product = &products[(i >> 33) as usize % products.len()];
                        journey(&http, &gw, product, i).await;
                        sent.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(40)).await;
                    }
                })
            })
            .collect();
        Self { stop, sent, tasks }
    }

    pub async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }
}

async fn journey(http: &reqwest::Client, gw: &str, product: &str, r: u64) {
    let _ = http
        .get(format!("{gw}/api/products/{product}"))
        .send()
        .await;
    if r.is_multiple_of(7) {
        // A product that does not exist: a 404 the gateway relays (an error trace).
        let _ = http
            .get(format!("{gw}/api/products/NOPE-{}", r % 100))
            .send()
            .await;
    }
    if !r.is_multiple_of(3) {
        return;
    }
    let Ok(resp) = http
        .post(format!("{gw}/api/carts"))
        .json(&json!({}))
        .send()
        .await
    else {
        return;
    };
    let Ok(cart) = resp.json::<Value>().await else {
        return;
    };
    let Some(cart) = cart["cart_id"].as_str() else {
        return;
    };
    let _ = http
        .post(format!("{gw}/api/carts/{cart}/items"))
        .json(&json!({"product_id": product, "quantity": 1}))
        .send()
        .await;
    // One checkout in four is declined (an error trace through checkout and payment).
    let card = if r.is_multiple_of(4) {
        "4000000000000002"
    } else {
        "4242424242424242"
    };
    let _ = http
        .post(format!("{gw}/api/checkout"))
        .header("Idempotency-Key", format!("browser-{cart}"))
        .json(&json!({
            "cart_id": cart,
            "card": {"number": card, "expiry_month": 12, "expiry_year": 2031, "cvc": "123"},
            "shipping": {"country": "DE"}
        }))
        .send()
        .await;
}
