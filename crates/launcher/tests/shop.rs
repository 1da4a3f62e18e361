//! End to end with the ten real service processes under `apiary up`: shoppers' journeys through
//! the gateway only, then a reconciliation of what each owner recorded (orders, the payment
//! ledger, inventory, carts) against what the shoppers were told — exactly, not roughly.
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{
    DashboardPorts, Launcher, StackManifest, all_orders, bin_dir, json_of, reconcile_owners,
    settle, temp_dir,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

const GOOD_CARD: &str = "4242424242424242";
const DECLINED_CARDS: [(&str, &str); 3] = [
    ("4000000000000002", "card_declined"),
    ("4000000000009995", "insufficient_funds"),
    ("4100000000000019", "fraud_suspected"),
];

// SplitMix64: journeys are the same on every run.
use apiary_seed::SplitMix64 as Rng;

/// Products by how much stock the seed gives them.
struct Shelves {
    plenty: Vec<String>,
    scarce: Vec<String>,
    sold_out: Vec<String>,
}

fn shelves() -> Shelves {
    let all = apiary_seed::products();
    let pick = |f: &dyn Fn(u32) -> bool| {
        all.iter()
            .filter(|p| f(p.stock))
            .map(|p| p.id.clone())
            .collect::<Vec<_>>()
    };
    Shelves {
        plenty: pick(&|s| s >= 40),
        scarce: pick(&|s| (1..=5).contains(&s)),
        sold_out: pick(&|s| s == 0),
    }
}

/// What the shoppers were told, to compare with what the services recorded.
#[derive(Debug, Default)]
struct Ledger {
    /// order id -> (cart id, product -> units, total minor units)
    placed: BTreeMap<String, (String, BTreeMap<String, u32>, i64)>,
    /// cart id -> what it must still hold (abandoned carts and failed checkouts)
    carts: BTreeMap<String, BTreeMap<String, u32>>,
    statuses: BTreeMap<String, u32>,
    /// Requests that got no HTTP answer, or a 5xx.
    failures: Vec<String>,
    declined: u32,
    out_of_stock: u32,
}

struct Shop {
    http: reqwest::Client,
    gateway: String,
    ledger: Mutex<Ledger>,
}

impl Shop {
    /// Shoppers of `stack`'s gateway, with an empty ledger.
    fn shared(http: &reqwest::Client, stack: &StackManifest) -> Arc<Self> {
        Arc::new(Self {
            http: http.clone(),
            gateway: stack.url("gateway"),
            ledger: Mutex::new(Ledger::default()),
        })
    }

    async fn call(&self, label: &str, req: reqwest::RequestBuilder) -> Option<(u16, Value)> {
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.json::<Value>().await.unwrap_or(Value::Null);
                let mut l = self.ledger.lock().expect("ledger");
                *l.statuses.entry(format!("{label} {status}")).or_default() += 1;
                if status >= 500 {
                    l.failures.push(format!("{label}: {status} {body}"));
                }
                Some((status, body))
            }
            Err(e) => {
                let mut l = self.ledger.lock().expect("ledger");
                l.failures.push(format!("{label}: no answer: {e}"));
                None
            }
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.gateway))
    }

    fn post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.gateway)).json(body)
    }

    async fn browse(&self, rng: &mut Rng, shelves: &Shelves) {
        let category = ["books", "music", "video"][rng.below(3)];
        self.call("categories", self.get("/api/categories")).await;
        self.call(
            "list",
            self.get(&format!("/api/products?category={category}&limit=12")),
        )
        .await;
        let id = &shelves.plenty[rng.below(shelves.plenty.len())];
        self.call("product", self.get(&format!("/api/products/{id}")))
            .await;
    }

    async fn new_cart(&self) -> Option<String> {
        let (status, body) = self
            .call("new cart", self.post("/api/carts", &json!({})))
            .await?;
        assert_eq!(status, 201, "{body}");
        body["cart_id"].as_str().map(str::to_owned)
    }

    /// Adds to the cart; returns whether the gateway accepted it.
    async fn add(&self, cart: &str, product: &str, quantity: u32) -> bool {
        let body = json!({"product_id": product, "quantity": quantity});
        match self
            .call("add", self.post(&format!("/api/carts/{cart}/items"), &body))
            .await
        {
            Some((200 | 201, _)) => true,
            Some((409, body)) => {
                assert_eq!(body["error"]["code"], "out_of_stock", "{body}");
                self.ledger.lock().expect("ledger").out_of_stock += 1;
                false
            }
            Some((status, body)) => panic!("add {product} x{quantity}: {status} {body}"),
            None => false,
        }
    }

    /// Fills a cart with 1-3 lines; returns its contents.
    async fn fill(
        &self,
        rng: &mut Rng,
        shelves: &Shelves,
        cart: &str,
        with_scarce: bool,
    ) -> BTreeMap<String, u32> {
        let mut contents = BTreeMap::new();
        for n in 0..1 + rng.below(3) {
            let product = if with_scarce && n == 0 {
                shelves.scarce[rng.below(shelves.scarce.len())].clone()
            } else {
                shelves.plenty[rng.below(shelves.plenty.len())].clone()
            };
            let quantity = 1 + rng.below(2) as u32;
            if self.add(cart, &product, quantity).await {
                *contents.entry(product).or_default() += quantity;
            }
        }
        contents
    }

    async fn checkout(
        &self,
        cart: &str,
        contents: BTreeMap<String, u32>,
        card: &str,
        expect_decline: Option<&str>,
    ) {
        let order_id = format!("e2e-{cart}");
        let body = json!({
            "cart_id": cart,
            "card": {"number": card, "expiry_month": 12, "expiry_year": 2031, "cvc": "123"},
            "shipping": {"country": "DE"}
        });
        let req = self
            .post("/api/checkout", &body)
            .header("Idempotency-Key", &order_id);
        let Some((status, resp)) = self.call("checkout", req).await else {
            return;
        };
        let mut l = self.ledger.lock().expect("ledger");
        match status {
            201 => {
                assert_eq!(resp["order_id"], order_id.as_str(), "{resp}");
                assert!(
                    expect_decline.is_none(),
                    "a declined card was charged: {resp}"
                );
                let total = resp["total"]["amount_minor"].as_i64().expect("total");
                l.placed
                    .insert(order_id, (cart.to_owned(), contents, total));
            }
            402 => {
                let code = resp["error"]["code"].as_str().unwrap_or_default();
                assert_eq!(Some(code), expect_decline, "{resp}");
                l.declined += 1;
                l.carts.insert(cart.to_owned(), contents);
            }
            409 if resp["error"]["code"] == "out_of_stock" => {
                l.out_of_stock += 1;
                l.carts.insert(cart.to_owned(), contents);
            }
            409 if resp["error"]["code"] == "cart_empty" && contents.is_empty() => {}
            _ => panic!("checkout of {cart}: {status} {resp}"),
        }
    }

    /// One shopper's visit.
    async fn journey(&self, seed: u64, shelves: &Shelves) {
        let mut rng = Rng::new(seed);
        let kind = rng.below(100);
        if kind < 25 {
            self.browse(&mut rng, shelves).await;
            return;
        }
        if kind < 32 {
            let word = ["river", "jazz", "noir", "garden", "quist"][rng.below(5)];
            self.call("search", self.get(&format!("/api/products?q={word}")))
                .await;
            return;
        }
        let Some(cart) = self.new_cart().await else {
            return;
        };
        if kind < 37 {
            // Wants something sold out.
            let product = &shelves.sold_out[rng.below(shelves.sold_out.len())];
            assert!(!self.add(&cart, product, 1).await, "{product} is sold out");
            self.ledger
                .lock()
                .expect("ledger")
                .carts
                .insert(cart, BTreeMap::new());
            return;
        }
        let mut contents = self.fill(&mut rng, shelves, &cart, kind >= 90).await;
        if kind < 50 {
            // Abandoned.
            self.ledger
                .lock()
                .expect("ledger")
                .carts
                .insert(cart, contents);
            return;
        }
        if kind < 55 {
            // Changes their mind about the first line.
            if let Some((product, _)) = contents.clone().into_iter().next() {
                let body = json!({"quantity": 1});
                let req = self
                    .http
                    .put(format!("{}/api/carts/{cart}/items/{product}", self.gateway))
                    .json(&body);
                if let Some((200, _)) = self.call("update", req).await {
                    contents.insert(product, 1);
                }
            }
        }
        if kind < 62 {
            let (card, reason) = DECLINED_CARDS[rng.below(DECLINED_CARDS.len())];
            self.checkout(&cart, contents, card, Some(reason)).await;
        } else {
            self.checkout(&cart, contents, GOOD_CARD, None).await;
        }
    }
}

fn start_stack(tag: &str, dashboard: bool) -> (Launcher, StackManifest) {
    let bins = bin_dir();
    let dir = temp_dir(tag);
    let stack = StackManifest::write(&dir, dashboard.then(DashboardPorts::free));
    let mut args = vec![
        "up".to_owned(),
        "--manifest".to_owned(),
        stack.path.display().to_string(),
        "--bin-dir".to_owned(),
        bins.display().to_string(),
    ];
    if !dashboard {
        // Nothing listens there: export fails fast and is counted, which is what we want
        // when the test is not about telemetry.
        args.push("--otlp-endpoint".to_owned());
        args.push(format!("http://127.0.0.1:{}", apiary_testkit::free_port()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let launcher = Launcher::start(&args);
    launcher.wait_for("every service is ready", Duration::from_secs(90));
    (launcher, stack)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_journeys_reconcile_exactly_and_a_checkout_trace_spans_the_shop() {
    const JOURNEYS: usize = 1000;
    const SHOPPERS: usize = 12;
    let (launcher, stack) = start_stack("shop", true);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let shop = Shop::shared(&http, &stack);
    let shelves = Arc::new(shelves());
    assert!(!shelves.sold_out.is_empty() && !shelves.scarce.is_empty());

    // One checkout first, to follow its trace.
    let cart = shop.new_cart().await.expect("cart");
    assert!(shop.add(&cart, &shelves.plenty[0], 1).await);
    let body = json!({
        "cart_id": cart,
        "card": {"number": GOOD_CARD, "expiry_month": 12, "expiry_year": 2031, "cvc": "123"},
        "shipping": {"country": "DE"}
    });
    let resp = http
        .post(format!("{}/api/checkout", stack.url("gateway")))
        .header("Idempotency-Key", format!("e2e-{cart}"))
        .json(&body)
        .send()
        .await
        .expect("checkout answers");
    assert_eq!(resp.status(), 201);
    let trace_id = resp
        .headers()
        .get("traceresponse")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split('-').nth(1))
        .map(str::to_owned)
        .expect("traceresponse header");
    let placed: Value = resp.json().await.expect("json");
    shop.ledger.lock().expect("ledger").placed.insert(
        format!("e2e-{cart}"),
        (
            cart.clone(),
            BTreeMap::from([(shelves.plenty[0].clone(), 1)]),
            placed["total"]["amount_minor"].as_i64().expect("total"),
        ),
    );

    // The shoppers.
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..SHOPPERS {
        let (shop, shelves, next) = (shop.clone(), shelves.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= JOURNEYS {
                    return;
                }
                shop.journey(0xA91A_0000 + n as u64, &shelves).await;
            }
        }));
    }
    for w in workers {
        tokio::time::timeout(Duration::from_secs(600), w)
            .await
            .expect("journeys finish within 10 minutes")
            .expect("a journey panicked");
    }
    let elapsed = started.elapsed();
    settle(&http, &stack, Duration::from_secs(30)).await;

    let ledger = std::mem::take(&mut *shop.ledger.lock().expect("ledger"));
    eprintln!(
        "{JOURNEYS} journeys in {:.1} s: {} orders, {} declined, {} out of stock; {:?}",
        elapsed.as_secs_f64(),
        ledger.placed.len(),
        ledger.declined,
        ledger.out_of_stock,
        ledger.statuses
    );
    assert!(ledger.failures.is_empty(), "{:#?}", ledger.failures);
    assert!(
        ledger.placed.len() >= 200,
        "only {} orders",
        ledger.placed.len()
    );
    assert!(ledger.declined >= 20, "only {} declines", ledger.declined);
    assert!(
        ledger.out_of_stock >= 20,
        "only {} stock-outs",
        ledger.out_of_stock
    );

    // The owners agree with each other ...
    let orders = reconcile_owners(&http, &stack).await;
    // ... and with what each shopper was told.
    let told: BTreeSet<_> = ledger.placed.keys().collect();
    let recorded: BTreeSet<_> = orders.keys().collect();
    assert_eq!(
        told, recorded,
        "orders the shoppers were told about vs recorded"
    );
    for (id, (cart, contents, total)) in &ledger.placed {
        let order = &orders[id];
        assert_eq!(order["cart_id"], cart.as_str());
        assert_eq!(
            order["total"]["amount_minor"].as_i64(),
            Some(*total),
            "{id}"
        );
        let lines: BTreeMap<String, u32> = order["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|l| {
                (
                    l["product_id"].as_str().expect("id").to_owned(),
                    l["quantity"].as_u64().expect("qty") as u32,
                )
            })
            .collect();
        assert_eq!(
            &lines, contents,
            "{id}: order lines vs the cart the shopper filled"
        );
        let left = json_of(&http, format!("{}/carts/{cart}", stack.url("cart"))).await;
        assert_eq!(
            left["items"],
            json!([]),
            "{cart} was not emptied after its order"
        );
    }
    for (cart, contents) in &ledger.carts {
        let left = json_of(&http, format!("{}/carts/{cart}", stack.url("cart"))).await;
        let held: BTreeMap<String, u32> = left["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|l| {
                (
                    l["product_id"].as_str().expect("id").to_owned(),
                    l["quantity"].as_u64().expect("qty") as u32,
                )
            })
            .collect();
        assert_eq!(&held, contents, "cart {cart}");
    }
    let revenue: i64 = ledger.placed.values().map(|(_, _, total)| total).sum();
    let summary = json_of(&http, format!("{}/orders/summary", stack.url("orders"))).await;
    assert_eq!(summary["orders"].as_u64(), Some(ledger.placed.len() as u64));
    assert_eq!(
        summary["revenue"][0]["amount_minor"].as_i64(),
        Some(revenue)
    );

    // The first checkout's trace, as the dashboard holds it, spans at least 7 services.
    let dashboard = format!(
        "http://127.0.0.1:{}",
        stack.dashboard.as_ref().expect("dashboard").ui
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let services = loop {
        let trace = http
            .get(format!("{dashboard}/api/traces/{trace_id}"))
            .send()
            .await
            .expect("dashboard answers");
        let services: BTreeSet<String> = if trace.status().is_success() {
            let trace: Value = trace.json().await.expect("json");
            trace["spans"]
                .as_array()
                .map(|spans| {
                    spans
                        .iter()
                        .filter_map(|s| s["service"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            BTreeSet::new()
        };
        if services.len() >= 8 || Instant::now() > deadline {
            break services;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(
        services.len() >= 7,
        "the checkout trace covers only {services:?}"
    );
    drop(launcher);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_starts_gentle_background_load_once_the_shop_is_ready() {
    let bins = bin_dir();
    let dir = temp_dir("load");
    let stack = StackManifest::write_with_load(&dir, None, Some(20.0));
    let launcher = Launcher::start(&[
        "up",
        "--manifest",
        stack.path.to_str().expect("utf-8"),
        "--bin-dir",
        bins.to_str().expect("utf-8"),
        "--otlp-endpoint",
        &format!("http://127.0.0.1:{}", apiary_testkit::free_port()),
    ]);
    launcher.wait_for("every service is ready", Duration::from_secs(90));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    // Journeys arrive at the gateway without anyone asking.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status = json_of(&http, format!("{}/status", stack.url("load"))).await;
        if status["totals"]["journeys_started"].as_u64().unwrap_or(0) >= 20 {
            break status;
        }
        assert!(Instant::now() < deadline, "no load: {status}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(status["target"], stack.url("gateway").as_str(), "{status}");
    let metrics = http
        .get(format!("{}/metrics", stack.url("gateway")))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("http_server_request_duration_seconds_count"),
        "the gateway saw no shoppers"
    );
    // The control API is guarded: no token, no change.
    let refused = http
        .post(format!("{}/rate", stack.url("load")))
        .json(&json!({"rate": 1}))
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), 401);
    drop(launcher);
}

#[test]
fn apiary_load_runs_the_load_generator_with_its_arguments() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apiary"))
        .args(["load", "--bin-dir", bin_dir().to_str().expect("utf-8")])
        .args(["--target", "http://192.0.2.10:8000", "--duration", "1s"])
        .output()
        .expect("run apiary load");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-remote"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_killed_during_checkouts_leaves_no_charge_without_an_order() {
    const CHECKOUTS: usize = 160;
    const SHOPPERS: usize = 8;
    let (launcher, stack) = start_stack("kill-payment", false);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(40))
        .build()
        .expect("client");
    let shop = Shop::shared(&http, &stack);
    let shelves = Arc::new(shelves());
    let answered = Arc::new(Mutex::new(BTreeMap::<u16, usize>::new()));
    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let (answered_w, accepted_w) = (answered.clone(), accepted.clone());
    let workers = spawn_buyers(&shop, &shelves, CHECKOUTS, SHOPPERS, move |shop, cart| {
        let (answered, accepted) = (answered_w.clone(), accepted_w.clone());
        async move {
            let body = json!({
                "cart_id": cart,
                "card": {"number": GOOD_CARD, "expiry_month": 12, "expiry_year": 2031, "cvc": "123"},
                "shipping": {"country": "DE"}
            });
            let resp = shop
                .http
                .post(format!("{}/api/checkout", shop.gateway))
                .header("Idempotency-Key", format!("kill-{cart}"))
                .json(&body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("a checkout got no answer: {e}"));
            let status = resp.status().as_u16();
            // Every answer is a real one: the order, a checkout still being finished
            // (202, its status URL), or a JSON error saying why not.
            let body: Value = resp.json().await.expect("a JSON answer");
            assert!(
                status == 201
                    || (status == 202 && body["status_url"].is_string())
                    || body["error"]["code"].is_string(),
                "{status} {body}"
            );
            if status == 202 {
                accepted
                    .lock()
                    .expect("accepted")
                    .push(format!("kill-{cart}"));
            }
            *answered.lock().expect("answers").entry(status).or_default() += 1;
        }
    });

    // Kill payment mid-run, once some checkouts went through.
    let deadline = Instant::now() + Duration::from_secs(120);
    while answered.lock().expect("answers").values().sum::<usize>() < 30 {
        assert!(Instant::now() < deadline, "checkouts are not progressing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let payment = *launcher.pids_of("payment").first().expect("payment pid");
    kill(Pid::from_raw(payment), Signal::SIGKILL).expect("kill payment");
    launcher.wait_for("payment exited", Duration::from_secs(10));

    for w in workers {
        tokio::time::timeout(Duration::from_secs(300), w)
            .await
            .expect("checkouts finish")
            .expect("every checkout got an answer");
    }
    assert!(
        launcher.pids_of("payment").len() >= 2,
        "payment was not restarted:\n{}",
        launcher.output()
    );
    let answered = answered.lock().expect("answers").clone();
    eprintln!("checkout answers while payment was killed: {answered:?}");
    assert_eq!(answered.values().sum::<usize>(), CHECKOUTS, "{answered:?}");
    let placed = answered.get(&201).copied().unwrap_or(0);
    assert!(placed >= 30, "{answered:?}");

    // Payment is back: once its circuit closes, checkouts go through again.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut recovered = false;
    while !recovered {
        assert!(Instant::now() < deadline, "checkouts never recovered");
        let cart = shop.new_cart().await.expect("cart");
        assert!(shop.add(&cart, &shelves.plenty[0], 1).await);
        let body = json!({
            "cart_id": cart,
            "card": {"number": GOOD_CARD, "expiry_month": 12, "expiry_year": 2031, "cvc": "123"},
            "shipping": {"country": "DE"}
        });
        let resp = http
            .post(format!("{}/api/checkout", stack.url("gateway")))
            .json(&body)
            .send()
            .await
            .expect("checkout answers");
        recovered = resp.status() == 201;
        if !recovered {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    // The background voids done, the books must balance: no charge without an order, no order
    // without a charge, no stock left on hold.
    settle(&http, &stack, Duration::from_secs(60)).await;
    // Checkouts answered 202 have finished by now, one way or the other.
    let mut finished_later = 0;
    let accepted = accepted.lock().expect("accepted").clone();
    for key in &accepted {
        let status = json_of(
            &http,
            format!("{}/api/checkouts/{key}", stack.url("gateway")),
        )
        .await;
        match status["state"].as_str() {
            Some("placed") => finished_later += 1,
            Some("failed") => {}
            other => panic!("{key} is still {other:?} after settling: {status}"),
        }
    }
    let orders = reconcile_owners(&http, &stack).await;
    assert_eq!(orders.len(), placed + finished_later + 1);
    drop(launcher);
}

/// `shoppers` tasks that between them fill `count` one-line carts (a well-stocked product
/// each) and hand each cart to `buy`.
fn spawn_buyers<F, Fut>(
    shop: &Arc<Shop>,
    shelves: &Arc<Shelves>,
    count: usize,
    shoppers: usize,
    buy: F,
) -> Vec<tokio::task::JoinHandle<()>>
where
    F: Fn(Arc<Shop>, String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    (0..shoppers)
        .map(|_| {
            let (shop, shelves, next, buy) =
                (shop.clone(), shelves.clone(), next.clone(), buy.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        return;
                    }
                    let Some(cart) = shop.new_cart().await else {
                        continue;
                    };
                    let product = &shelves.plenty[n % shelves.plenty.len()];
                    if shop.add(&cart, product, 1).await {
                        buy(shop.clone(), cart).await;
                    }
                }
            })
        })
        .collect()
}

/// A checkout that ends: retried with its key through outages and restarts (503/502/504 or no
/// answer), followed while 202, until it is placed (`Some(total)`) or refused (`None`).
async fn checkout_until_settled(shop: &Shop, cart: &str, key: &str) -> Option<i64> {
    let body = json!({
        "cart_id": cart,
        "card": {"number": GOOD_CARD, "expiry_month": 12, "expiry_year": 2031, "cvc": "123"},
        "shipping": {"country": "DE"}
    });
    let status_url = format!("{}/api/checkouts/{key}", shop.gateway);
    for _ in 0..240 {
        let sent = shop
            .http
            .post(format!("{}/api/checkout", shop.gateway))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await;
        let (status, resp) = match sent {
            Ok(r) => (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            ),
            Err(_) => (0, Value::Null),
        };
        match status {
            200 | 201 => return Some(resp["total"]["amount_minor"].as_i64().expect("total")),
            202 => {
                // Follow the status until it is final.
                if let Ok(r) = shop.http.get(&status_url).send().await
                    && let Ok(s) = r.json::<Value>().await
                {
                    match s["state"].as_str() {
                        Some("placed") => {
                            return Some(
                                s["result"]["total"]["amount_minor"]
                                    .as_i64()
                                    .expect("total"),
                            );
                        }
                        Some("failed") => return None,
                        _ => {}
                    }
                }
            }
            409 => {
                let code = resp["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                assert!(
                    ["checkout_interrupted", "out_of_stock"].contains(&code.as_str()),
                    "{key}: 409 {resp}"
                );
                return None;
            }
            // Checkout is down or restarting: the same key again shortly.
            0 | 502..=504 => {}
            other => panic!("{key}: {other} {resp}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{key} never settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_killed_three_times_during_checkouts_loses_no_charge_order_or_stock() {
    const CHECKOUTS: usize = 120;
    const SHOPPERS: usize = 6;
    let (launcher, stack) = start_stack("kill-checkout", false);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let shop = Shop::shared(&http, &stack);
    let shelves = Arc::new(shelves());
    let done = Arc::new(AtomicUsize::new(0));
    let placed = Arc::new(Mutex::new(BTreeMap::<String, i64>::new()));
    let (done_w, placed_w) = (done.clone(), placed.clone());
    let workers = spawn_buyers(&shop, &shelves, CHECKOUTS, SHOPPERS, move |shop, cart| {
        let (done, placed) = (done_w.clone(), placed_w.clone());
        async move {
            let key = format!("ckill-{cart}");
            if let Some(total) = checkout_until_settled(&shop, &cart, &key).await {
                placed.lock().expect("placed").insert(key, total);
            }
            done.fetch_add(1, Ordering::Relaxed);
        }
    });

    // Kill -9 checkout three times while checkouts run, each time once more have finished.
    for (round, after) in [15, 45, 75].into_iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(120);
        while done.load(Ordering::Relaxed) < after {
            assert!(Instant::now() < deadline, "checkouts are not progressing");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let pids = launcher.pids_of("checkout");
        let pid = *pids.last().expect("checkout pid");
        kill(Pid::from_raw(pid), Signal::SIGKILL).expect("kill checkout");
        let deadline = Instant::now() + Duration::from_secs(30);
        while launcher.pids_of("checkout").len() < round + 2 {
            assert!(
                Instant::now() < deadline,
                "checkout was not restarted:\n{}",
                launcher.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for w in workers {
        tokio::time::timeout(Duration::from_secs(300), w)
            .await
            .expect("checkouts finish")
            .expect("every checkout settled");
    }

    // Every saga concluded and its clean-up done: the owners agree with each other and with
    // what the shoppers were told — exactly.
    settle(&http, &stack, Duration::from_secs(60)).await;
    let orders = reconcile_owners(&http, &stack).await;
    let placed = placed.lock().expect("placed").clone();
    eprintln!(
        "checkout killed 3 times: {} of {CHECKOUTS} checkouts placed, {} orders recorded",
        placed.len(),
        orders.len()
    );
    assert_eq!(
        orders.keys().collect::<Vec<_>>(),
        placed.keys().collect::<Vec<_>>(),
        "the orders are exactly the checkouts the shoppers were told were placed"
    );
    for (key, total) in &placed {
        assert_eq!(orders[key]["total"]["amount_minor"], *total, "{key}");
    }
    assert!(placed.len() >= CHECKOUTS / 2, "{} placed", placed.len());
    drop(launcher);
}

/// Polls `check` every 250 ms until it holds, for at most `timeout`; `what` names it in the panic.
async fn until<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Messages in `queue` (ready + unacknowledged), from the broker's own metrics.
async fn queue_depth(http: &reqwest::Client, stack: &StackManifest, queue: &str) -> Option<f64> {
    let url = format!(
        "http://127.0.0.1:{}/metrics/detailed?family=queue_coarse_metrics",
        stack.port("broker-metrics")
    );
    let text = http.get(url).send().await.ok()?.text().await.ok()?;
    apiary_testkit::metric_sample(
        &text,
        &format!("rabbitmq_detailed_queue_messages{{vhost=\"/\",queue=\"{queue}\"}}"),
    )
}

/// A sample of a service's `/metrics`, 0 when absent.
async fn metric(http: &reqwest::Client, stack: &StackManifest, service: &str, series: &str) -> f64 {
    let Ok(resp) = http
        .get(format!("{}/metrics", stack.url(service)))
        .send()
        .await
    else {
        return 0.0;
    };
    let text = resp.text().await.unwrap_or_default();
    apiary_testkit::metric_sample(&text, series).unwrap_or(0.0)
}

const CONSUMERS: [&str; 3] = ["notifications", "shipping", "recommendations"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_events_reach_every_consumer_exactly_once_through_poison_a_broker_restart_and_a_killed_consumer()
 {
    const CHECKOUTS: usize = 60;
    const SHOPPERS: usize = 4;
    let dir = temp_dir("messaging");
    let dash = DashboardPorts::free();
    let (flags, drills) = StackManifest::shipped_faults();
    let stack =
        StackManifest::write_full(&dir, Some(dash), None, Some((&flags, &drills))).with_broker();
    let launcher = Launcher::start(&[
        "up",
        "--manifest",
        &stack.path.display().to_string(),
        "--bin-dir",
        &bin_dir().display().to_string(),
    ]);
    launcher.wait_for("every service is ready", Duration::from_secs(90));
    launcher.wait_for("the broker accepts AMQP", Duration::from_secs(120));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    // Every producer and consumer has its link up (they retry with a backoff while it boots).
    for service in ["orders", "notifications", "shipping", "recommendations"] {
        until(
            Duration::from_secs(60),
            &format!("{service}'s broker link"),
            || async {
                let ready = json_of(&http, format!("{}/health/ready", stack.url(service))).await;
                ready["checks"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["name"] == "broker" && c["ok"] == true))
            },
        )
        .await;
    }
    let control = format!("http://127.0.0.1:{}/api/faults", dash.ui);
    let token = std::fs::read_to_string(stack.data_dir.join("control.token")).expect("token");
    let shop = Shop::shared(&http, &stack);
    let shelves = Arc::new(shelves());
    let done = Arc::new(AtomicUsize::new(0));
    let buy = {
        let done = done.clone();
        move |shop: Arc<Shop>, cart: String| {
            let done = done.clone();
            async move {
                let key = format!("msg-{cart}");
                checkout_until_settled(&shop, &cart, &key).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }
    };

    // 1. Poison: orders follows every event with a malformed one while 10 checkouts run.
    let fault: Value = http
        .post(&control)
        .bearer_auth(token.trim())
        .json(&json!({"kind": "poison-message", "service": "orders", "percent": 100, "ttl_s": 120}))
        .send()
        .await
        .expect("set the fault")
        .json()
        .await
        .expect("json");
    let fault_id = fault["id"].as_str().expect("fault id").to_owned();
    // Services see a flag change within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for w in spawn_buyers(&shop, &shelves, 10, 2, buy.clone()) {
        w.await.expect("buyer");
    }
    until(
        Duration::from_secs(30),
        "the poisoned events to be sent",
        || async {
            metric(
                &http,
                &stack,
                "orders",
                r#"messaging_outbox_backlog{producer="orders"}"#,
            )
            .await
                == 0.0
        },
    )
    .await;
    let cleared = http
        .delete(format!("{control}/{fault_id}"))
        .bearer_auth(token.trim())
        .send()
        .await
        .expect("clear");
    assert!(cleared.status().is_success(), "{}", cleared.status());
    let injected = metric(
        &http,
        &stack,
        "orders",
        r#"messaging_client_sent_messages_total{destination="shop.events",routing_key="order.placed",outcome="poison_injected"}"#,
    )
    .await;
    assert!(injected >= 1.0, "the fault injected poison");
    for consumer in CONSUMERS {
        let dead = format!("{consumer}.order-placed.dead");
        until(Duration::from_secs(30), &dead, || async {
            queue_depth(&http, &stack, &dead).await == Some(injected)
        })
        .await;
    }

    // 2. More checkouts while the broker is stopped and restarted and notifications is killed
    // with messages in flight — and while shipping hands half its deliveries back (each then
    // arrives twice) and recommendations' consumer crashes on a third of them.
    for fault in [
        json!({"kind": "duplicate-delivery", "service": "shipping", "percent": 50, "ttl_s": 300}),
        json!({"kind": "consumer-crash", "service": "recommendations", "percent": 30, "ttl_s": 300}),
    ] {
        let set = http
            .post(&control)
            .bearer_auth(token.trim())
            .json(&fault)
            .send()
            .await
            .expect("set a fault");
        assert_eq!(set.status(), 201, "{fault}");
    }
    done.store(0, Ordering::Relaxed);
    let workers = spawn_buyers(&shop, &shelves, CHECKOUTS, SHOPPERS, buy.clone());
    until(Duration::from_secs(120), "15 checkouts", || async {
        done.load(Ordering::Relaxed) >= 15
    })
    .await;
    let broker = *launcher.pids_of("broker").last().expect("broker pid");
    kill(Pid::from_raw(broker), Signal::SIGTERM).expect("stop the broker");
    until(Duration::from_secs(120), "the broker's restart", || async {
        launcher.pids_of("broker").len() >= 2
    })
    .await;
    until(Duration::from_secs(120), "30 checkouts", || async {
        done.load(Ordering::Relaxed) >= 30
    })
    .await;
    let notifications = *launcher.pids_of("notifications").last().expect("pid");
    kill(Pid::from_raw(notifications), Signal::SIGKILL).expect("kill notifications");
    for w in workers {
        tokio::time::timeout(Duration::from_secs(300), w)
            .await
            .expect("checkouts finish")
            .expect("every checkout settled");
    }

    let reset = http
        .post(format!("{control}/reset"))
        .bearer_auth(token.trim())
        .json(&json!({}))
        .send()
        .await
        .expect("reset");
    assert!(reset.status().is_success(), "{}", reset.status());

    // 3. Everything drains: every order's event reaches every consumer (bounded wait), then
    // every queue is empty.
    let orders = all_orders(&http, &stack).await;
    // A consumer may still be restarting: an unanswered read counts as nothing yet.
    let read = |url: String| async {
        match http.get(url).send().await {
            Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    };
    let effects = || async {
        let sent = read(format!(
            "{}/notifications?limit=200",
            stack.url("notifications")
        ))
        .await["items"]
            .as_array()
            .map_or(0, Vec::len);
        let summary = read(format!("{}/shipments/summary", stack.url("shipping"))).await;
        let shipped =
            summary["pending"].as_u64().unwrap_or(0) + summary["shipped"].as_u64().unwrap_or(0);
        let learned = metric(
            &http,
            &stack,
            "recommendations",
            "recommendations_orders_learned",
        )
        .await;
        (sent, shipped as usize, learned as usize)
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (sent, shipped, learned) = effects().await;
        if sent >= orders.len() && shipped >= orders.len() && learned >= orders.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} orders, but {sent} confirmations, {shipped} shipments, {learned} baskets; outbox {}",
            orders.len(),
            metric(
                &http,
                &stack,
                "orders",
                r#"messaging_outbox_backlog{producer="orders"}"#
            )
            .await
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for consumer in CONSUMERS {
        let queue = format!("{consumer}.order-placed");
        until(Duration::from_secs(60), &queue, || async {
            queue_depth(&http, &stack, &queue).await == Some(0.0)
        })
        .await;
    }

    // 4. Count: every order has exactly one confirmation, one shipment, one basket learned;
    // the dead-letter queues hold exactly the injected poison.
    assert_eq!(
        all_orders(&http, &stack).await.len(),
        orders.len(),
        "no order arrived late"
    );
    assert!(orders.len() >= 40, "{} orders", orders.len());
    for order in &orders {
        let id = order["order_id"].as_str().expect("order id");
        let sent = json_of(
            &http,
            format!("{}/notifications?order_id={id}", stack.url("notifications")),
        )
        .await;
        assert_eq!(
            sent["items"].as_array().map(Vec::len),
            Some(1),
            "{id}: {sent}"
        );
        let shipment = json_of(&http, format!("{}/shipments/{id}", stack.url("shipping"))).await;
        assert_eq!(shipment["order_id"], json!(id));
    }
    let summary = json_of(
        &http,
        format!("{}/shipments/summary", stack.url("shipping")),
    )
    .await;
    let shipments =
        summary["pending"].as_u64().unwrap_or(0) + summary["shipped"].as_u64().unwrap_or(0);
    assert_eq!(
        shipments as usize,
        orders.len(),
        "one shipment per order: {summary}"
    );
    let all_sent = json_of(
        &http,
        format!("{}/notifications?limit=200", stack.url("notifications")),
    )
    .await;
    assert_eq!(
        all_sent["items"].as_array().map(Vec::len),
        Some(orders.len())
    );
    let learned = metric(
        &http,
        &stack,
        "recommendations",
        "recommendations_orders_learned",
    )
    .await;
    assert_eq!(learned as usize, orders.len(), "one basket per order");
    for consumer in CONSUMERS {
        let dead = format!("{consumer}.order-placed.dead");
        assert_eq!(
            queue_depth(&http, &stack, &dead).await,
            Some(injected),
            "{dead}"
        );
    }
    let duplicates = metric(
        &http,
        &stack,
        "shipping",
        r#"messaging_client_consumed_messages_total{queue="shipping.order-placed",outcome="duplicate"}"#,
    )
    .await;
    let crashed = metric(
        &http,
        &stack,
        "recommendations",
        r#"messaging_client_consumed_messages_total{queue="recommendations.order-placed",outcome="crashed"}"#,
    )
    .await;
    assert!(duplicates > 0.0, "shipping saw its redeliveries again");
    assert!(crashed > 0.0, "recommendations' consumer crashed");
    eprintln!(
        "messaging: {} orders, each with one notification, shipment and basket; {injected} poison messages dead-lettered per consumer; shipping absorbed {duplicates} duplicates, recommendations' consumer crashed {crashed} times",
        orders.len()
    );
    drop(launcher);
}
