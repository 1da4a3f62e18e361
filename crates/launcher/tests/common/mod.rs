//! Shared by the end-to-end tests: free ports, a manifest of the whole stack on them, and the
//! `apiary` launcher as a child process whose output is collected line by line.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

pub use apiary_testkit::stack::{DashboardPorts, StackManifest};

pub fn bin_dir() -> PathBuf {
    let apiary = PathBuf::from(env!("CARGO_BIN_EXE_apiary"));
    let dir = apiary.parent().expect("bin dir").to_path_buf();
    check_binaries(&dir, "cargo build --workspace --bins");
    dir
}

/// The release binaries (`target/release`), checked to be there.
pub fn release_dir() -> PathBuf {
    let debug = PathBuf::from(env!("CARGO_BIN_EXE_apiary"));
    let dir = debug
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("release");
    check_binaries(&dir, "cargo build --release --workspace --bins");
    assert!(
        dir.join("dashboard").is_file(),
        "dashboard missing in {}",
        dir.display()
    );
    dir
}

/// Asserts every stack binary is in `dir`, saying how to build them when not.
fn check_binaries(dir: &Path, build: &str) {
    for service in [
        "gateway",
        "catalog",
        "cart",
        "checkout",
        "inventory",
        "payment",
        "shipping",
        "reviews",
        "recommendations",
        "orders",
        "apiary-load",
    ] {
        assert!(
            dir.join(service).is_file(),
            "{service} binary missing in {}: run `{build}` first",
            dir.display()
        );
    }
}

pub fn temp_dir(tag: &str) -> PathBuf {
    apiary_testkit::stack::scratch_dir("e2e", tag)
}

/// The launcher's output, collected line by line on a thread.
pub struct Launcher {
    pub child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Launcher {
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// As [`Launcher::start`], with extra environment for the launcher and every process it
    /// starts (e.g. a dashboard setting).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_apiary"))
            .args(args)
            .envs(env.iter().copied())
            .env("NO_COLOR", "1")
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("OTEL_BLRP_SCHEDULE_DELAY", "100")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start apiary");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Ok(mut l) = lines.lock() {
                        l.push(line);
                    }
                }
            });
        }
        Self { child, lines }
    }

    pub fn output(&self) -> String {
        self.lines.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// Waits for a line containing `needle`; returns it.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self
                .lines
                .lock()
                .ok()
                .and_then(|l| l.iter().find(|l| l.contains(needle)).cloned())
            {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no line with {needle:?} in:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pids_of(&self, service: &str) -> Vec<i32> {
        let needle = format!("started {service} (pid ");
        self.lines
            .lock()
            .map(|l| {
                l.iter()
                    .filter_map(|line| {
                        line.split(&needle)
                            .nth(1)?
                            .trim_end_matches(')')
                            .parse()
                            .ok()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("apiary did not exit in time:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Launcher {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
            let _ = self.wait_exit(Duration::from_secs(20));
        }
    }
}

pub fn alive(pid: i32) -> bool {
    // Signal 0 checks existence; a zombie awaiting its parent counts as gone.
    if kill(Pid::from_raw(pid), None).is_err() {
        return false;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.split(' ').nth(2).is_none_or(|state| state != "Z"))
        .unwrap_or(false)
}

// ---------------------------------------------------------------- reading the shop's owners

pub async fn json_of(http: &reqwest::Client, url: String) -> Value {
    let resp = apiary_testkit::get_ok(http, &url).await;
    resp.json().await.unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// As [`json_of`], but `None` on any failure: for loops that poll until an answer comes.
pub async fn try_json_of(http: &reqwest::Client, url: String) -> Option<Value> {
    let resp = http.get(&url).send().await.ok()?;
    resp.status().is_success().then_some(())?;
    resp.json().await.ok()
}

/// Waits (bounded) until checkout has no clean-up left.
pub async fn settle(http: &reqwest::Client, stack: &StackManifest, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let status = json_of(http, format!("{}/compensations", stack.url("checkout"))).await;
        if status["pending"] == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "compensations never settled: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every order (the orders service's feed).
pub async fn all_orders(http: &reqwest::Client, stack: &StackManifest) -> Vec<Value> {
    let mut orders = Vec::new();
    let mut after = 0;
    for _ in 0..100 {
        let page = json_of(
            http,
            format!("{}/orders?after_seq={after}&limit=500", stack.url("orders")),
        )
        .await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            return orders;
        }
        after = page["last_seq"].as_i64().expect("last_seq");
        orders.extend(items);
    }
    panic!("the orders feed never ended");
}

/// The owners agree with each other: every captured charge has exactly one order with its
/// charge id and amount, every order one captured charge, and inventory sold exactly what the
/// orders hold with nothing left reserved. Returns the orders by id.
pub async fn reconcile_owners(
    http: &reqwest::Client,
    stack: &StackManifest,
) -> BTreeMap<String, Value> {
    let orders: BTreeMap<String, Value> = all_orders(http, stack)
        .await
        .into_iter()
        .map(|o| (o["order_id"].as_str().expect("order id").to_owned(), o))
        .collect();
    let mut captured: BTreeMap<String, Value> = BTreeMap::new();
    let mut after = 0;
    for page in 0.. {
        assert!(page < 100, "the ledger never ended");
        let ledger = json_of(
            http,
            format!(
                "{}/ledger?status=captured&after_seq={after}&limit=1000",
                stack.url("payment")
            ),
        )
        .await;
        for c in ledger["charges"].as_array().expect("charges") {
            captured.insert(
                c["idempotency_key"].as_str().expect("key").to_owned(),
                c.clone(),
            );
        }
        match ledger["last_seq"].as_i64() {
            Some(seq) => after = seq,
            None => break,
        }
    }
    let order_ids: BTreeSet<_> = orders.keys().collect();
    let charged: BTreeSet<_> = captured.keys().collect();
    assert_eq!(
        charged.difference(&order_ids).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "charges without an order"
    );
    assert_eq!(
        order_ids.difference(&charged).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "orders without a charge"
    );
    for (id, order) in &orders {
        let charge = &captured[id];
        assert_eq!(order["charge_id"], charge["charge_id"], "order {id}");
        assert_eq!(order["total"], charge["amount"], "order {id}");
    }

    let mut sold: HashMap<String, u64> = HashMap::new();
    for order in orders.values() {
        for line in order["lines"].as_array().expect("lines") {
            *sold
                .entry(line["product_id"].as_str().expect("id").to_owned())
                .or_default() += line["quantity"].as_u64().expect("quantity");
        }
    }
    let seeded: HashMap<&str, u32> = apiary_seed::products()
        .iter()
        .map(|p| (p.id.as_str(), p.stock))
        .collect();
    let stock = json_of(http, format!("{}/stock", stack.url("inventory"))).await;
    let levels = stock["items"].as_array().expect("stock items");
    assert_eq!(levels.len(), seeded.len());
    for level in levels {
        let id = level["product_id"].as_str().expect("id");
        let (available, reserved, level_sold) = (
            level["available"].as_u64().expect("available"),
            level["reserved"].as_u64().expect("reserved"),
            level["sold"].as_u64().expect("sold"),
        );
        assert_eq!(reserved, 0, "{id} still has stock on hold: {level}");
        assert_eq!(
            level_sold,
            sold.get(id).copied().unwrap_or(0),
            "{id} sold: {level}"
        );
        assert_eq!(
            available + reserved + level_sold,
            u64::from(seeded[id]),
            "{id} units appeared or vanished: {level}"
        );
    }
    orders
}

/// Runs `apiary <args> --manifest <manifest>` to the end: whether it succeeded, and its output.
pub fn apiary(manifest: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_apiary"))
        .args(args)
        .arg("--manifest")
        .arg(manifest)
        .env("NO_COLOR", "1")
        .output()
        .expect("run apiary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Waits until the dashboard at `base` reports every service of the manifest up.
pub async fn all_up(http: &reqwest::Client, base: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let services: Value = http
            .get(format!("{base}/api/services"))
            .send()
            .await
            .expect("dashboard answers")
            .json()
            .await
            .expect("json");
        let list = services.as_array().cloned().unwrap_or_default();
        let not_up: Vec<String> = list
            .iter()
            .filter(|s| s["health"] != "up")
            .map(|s| format!("{}={} ({})", s["name"], s["health"], s["reason"]))
            .collect();
        if list.len() == apiary_testkit::stack::service_count() && not_up.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "services not all up: {not_up:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
