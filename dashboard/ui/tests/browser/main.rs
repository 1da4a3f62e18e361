//! Browser tests: Debian's headless Chromium, driven over WebDriver, against the whole stack
//! (`apiary up` on free ports) with shoppers generating traffic. Every page must render real
//! data; a value on the overview changes without a reload; a click on an error trace opens its
//! waterfall; presenter mode toggles (and cycles); a tile -> trace -> logs path takes three
//! clicks; a drill's fault shows as a banner and chart shading, and its report opens from the
//! Drills page. Screenshots of every page go to `artifacts/browser/` (or `APIARY_ARTIFACTS`).
//!
//! Needs the workspace binaries (`cargo build --workspace --bins`), the UI bundle
//! (`cargo run --release -p apiary-ui-build`), `chromium` and `chromedriver`; so it is
//! ignored by default and `scripts/test.sh` runs it with `--ignored`.

mod stack;
mod webdriver;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use stack::{Stack, Traffic, free_port, get_json, repo_root, temp_dir};
use webdriver::{Driver, Session};

const SECS: fn(u64) -> Duration = Duration::from_secs;

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("APIARY_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("artifacts/browser"));
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

fn site_root() -> PathBuf {
    let root = std::env::var_os("DASHBOARD_SITE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/site"));
    assert!(
        root.join("pkg/dashboard.wasm").is_file(),
        "no UI bundle in {}: run `cargo run --release -p apiary-ui-build`",
        root.display()
    );
    root
}

/// Polls the API until `accept`, bounded.
async fn api_until(
    http: &reqwest::Client,
    url: &str,
    what: &str,
    timeout: Duration,
    accept: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        last = get_json(http, url).await;
        if accept(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("timed out waiting for {what} at {url}: {last}");
}

/// True once the page is hydrated and the event stream is open.
async fn wait_live(s: &Session) {
    let deadline = Instant::now() + SECS(30);
    while Instant::now() < deadline {
        if s.script("return !!document.querySelector('.conn.on')")
            .await
            == true
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "the page did not hydrate and connect its event stream within 30 s; browser console:\n{}",
        s.console().await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs chromium, chromedriver, the workspace binaries and the UI bundle; scripts/test.sh runs it"]
async fn every_page_renders_live_data_in_a_real_browser() {
    let site = site_root();
    let dir = temp_dir("stack");
    let shots = artifacts();
    let stack = Stack::start(&dir, &site);
    let http = reqwest::Client::builder()
        .timeout(SECS(5))
        .build()
        .expect("client");
    stack.wait_all_up(&http, SECS(90)).await;
    let traffic = Traffic::start(&stack.gateway, 4);
    let base = stack.dashboard.clone();
    // Real failures (declines and not-found lookups are expected answers, not errors): half of
    // reviews' answers fail, so there are error traces and an SLO burning its budget.
    let token = stack.control_token();
    let fault = http
        .post(format!("{base}/api/faults"))
        .bearer_auth(&token)
        .header("x-apiary-actor", "browser-test")
        .json(&serde_json::json!({"kind": "error-rate", "service": "reviews", "percent": 50, "ttl_s": 600}))
        .send()
        .await
        .expect("set a fault");
    assert_eq!(fault.status(), 201, "the fault is set");
    let fault: Value = fault.json().await.expect("fault");
    let fault_id = fault["id"].as_str().expect("a fault id").to_owned();

    // Real data first, so each page has something to show.
    api_until(
        &http,
        &format!("{base}/api/business"),
        "orders",
        SECS(60),
        |b| b["orders_per_min"].as_f64().unwrap_or(0.0) > 0.0,
    )
    .await;
    api_until(
        &http,
        &format!("{base}/api/traces?status=error&limit=1"),
        "an error trace",
        SECS(60),
        |t| t.as_array().is_some_and(|a| !a.is_empty()),
    )
    .await;
    api_until(
        &http,
        &format!("{base}/api/topology"),
        "topology edges",
        SECS(60),
        |t| t["edges"].as_array().is_some_and(|e| e.len() >= 3),
    )
    .await;

    // The broker boots beside the services (nothing waits for it): wait until its queues are
    // read and every consumer is attached and working.
    api_until(
        &http,
        &format!("{base}/api/snapshot"),
        "the broker's queues with their consumers",
        SECS(90),
        |s| {
            s["messaging"]["queues"].as_array().is_some_and(|q| {
                q.len() >= 3
                    && q.iter().all(|q| {
                        q["depth"].is_number() && q["consumers"].as_f64().unwrap_or(0.0) >= 1.0
                    })
            })
        },
    )
    .await;

    let driver = Driver::start(free_port()).await;
    let profile = temp_dir("chromium");
    let s = driver.session(&profile).await;

    // ---- Overview: a tile per service with real numbers, updating without a reload.
    let services = apiary_testkit::stack::service_count() as u64;
    let started = Instant::now();
    s.goto(&format!("{base}/")).await;
    let tiles = s
        .wait_for(
            "a tile per service",
            SECS(20),
            "return document.querySelectorAll('.tile').length",
            |v| v.as_u64() == Some(services),
        )
        .await;
    wait_live(&s).await;
    let load_ms = started.elapsed().as_millis();
    println!("overview: {tiles} tiles, hydrated and live after {load_ms} ms");
    let timing = s
        .script(
            "const n = performance.getEntriesByType('navigation')[0]; \
             const w = performance.getEntriesByType('resource').find(r => r.name.endsWith('.wasm')); \
             return {dom: n.domContentLoadedEventEnd, load: n.loadEventEnd, wasm_bytes: w ? w.encodedBodySize : null, wasm_ms: w ? w.duration : null};",
        )
        .await;
    println!("overview timing: {timing}");
    s.wait_for(
        "gateway traffic on its tile",
        SECS(20),
        "return document.querySelector('[data-service=gateway] .rps').textContent",
        |v| v.as_str().is_some_and(|t| t != "0.0"),
    )
    .await;
    // Whether the numbers can be trusted: how late spans arrive, what was refused, how far
    // back traces go (details in its tooltip).
    let trust = s
        .wait_for(
            "the dashboard's own health in the header",
            SECS(20),
            "const t = document.getElementById('trust'); return t ? t.textContent : ''",
            |v| {
                v.as_str()
                    .is_some_and(|t| t.starts_with("lag ") && t.contains("refused"))
            },
        )
        .await;
    println!("trust: {trust}");
    let kpi = s
        .script("return document.querySelector('#kpi-orders .kpi-value').textContent")
        .await;
    assert_ne!(kpi, "–", "orders/min shows a number");
    s.wait_for(
        "the SLO budget on the gateway's tile",
        SECS(20),
        "return document.querySelector('[data-service=gateway] .slo-line').textContent",
        |v| v.as_str().is_some_and(|t| t.starts_with("SLO budget left")),
    )
    .await;
    let burn = s
        .wait_for(
            "reviews' availability SLO burn alert as a banner",
            SECS(90),
            "return Array.from(document.querySelectorAll('.banner.burn')).map(b => b.textContent).join(' | ')",
            |v| {
                v.as_str()
                    .is_some_and(|t| t.contains("reviews") && t.contains("availability budget"))
            },
        )
        .await;
    println!("burn banner: {burn}");
    let cause = s
        .wait_for(
            "the probable cause banner naming reviews",
            SECS(60),
            "const b = document.getElementById('probable-cause'); return b ? b.textContent : ''",
            |v| v.as_str().is_some_and(|t| t.contains("reviews")),
        )
        .await;
    println!("cause banner: {cause}");
    s.screenshot(&shots.join("overview.png")).await;

    // A value changes while the document stays the same one.
    s.script("window.__apiaryMarker = 42; return null").await;
    let snapshot_js = "return Array.from(document.querySelectorAll('.tile .num, .kpi-value')).map(e => e.textContent).join('|')";
    let before = s.script(snapshot_js).await;
    s.wait_for("an overview value to change", SECS(20), snapshot_js, |v| {
        *v != before
    })
    .await;
    let marker = s.script("return window.__apiaryMarker").await;
    assert_eq!(marker, 42, "the page was reloaded instead of updated");

    // ---- Presenter mode: the shortcut toggles it, and it cycles pages.
    s.press("p").await;
    s.wait_for(
        "presenter mode on",
        SECS(5),
        "return !!document.querySelector('.app.presenter')",
        |v| v == true,
    )
    .await;
    assert_eq!(
        s.script("return document.getElementById('presenter-toggle').getAttribute('aria-pressed')")
            .await,
        "true"
    );
    s.screenshot(&shots.join("presenter-overview.png")).await;
    s.wait_for(
        "presenter mode to move on to the business page",
        SECS(25),
        "return location.pathname",
        |v| v == "/business",
    )
    .await;
    s.screenshot(&shots.join("presenter-business.png")).await;
    s.press("p").await;
    s.wait_for(
        "presenter mode off",
        SECS(5),
        "return !!document.querySelector('.app.presenter')",
        |v| v == false,
    )
    .await;
    assert_eq!(
        s.script("return window.__apiaryMarker").await,
        42,
        "no reload while cycling"
    );

    // ---- Business: KPIs, funnel, failures (client-side navigation by keyboard).
    s.press("2").await;
    s.wait_for(
        "the business page",
        SECS(10),
        "return location.pathname",
        |v| v == "/business",
    )
    .await;
    s.wait_for(
        "orders/min on the business page",
        SECS(20),
        "return document.querySelector('#biz-orders .kpi-value').textContent",
        |v| v.as_str().is_some_and(|t| t != "0.0" && t != "–"),
    )
    .await;
    // Orders placed but not shipped yet: outbox + shipping's queue + the warehouse (a number,
    // so the broker's queue view and shipping's summary both reached the dashboard).
    let awaiting = s
        .wait_for(
            "orders awaiting fulfilment",
            SECS(30),
            "return document.querySelector('#biz-fulfilment .kpi-value').textContent",
            |v| v.as_str().is_some_and(|t| t.parse::<f64>().is_ok()),
        )
        .await;
    println!("business: awaiting fulfilment {awaiting}");
    // The KPI tiles open example traces of their number.
    let kpi_traces = s
        .script("const a = document.querySelector('#biz-orders .kpi-traces'); return a ? a.getAttribute('href') : ''")
        .await;
    assert_eq!(kpi_traces, "/traces?service=orders&status=ok");
    s.wait_for(
        "a funnel with product views",
        SECS(20),
        "return document.querySelector('.funnel-step .funnel-value').textContent",
        |v| v.as_str().is_some_and(|t| t != "0.0" && !t.is_empty()),
    )
    .await;
    s.wait_for(
        "payment failures by reason",
        SECS(30),
        "return Array.from(document.querySelectorAll('.bars .bar-label')).map(e => e.textContent).join(',')",
        |v| v.as_str().is_some_and(|t| t.contains("card_declined")),
    )
    .await;
    s.wait_for(
        "the orders chart to draw",
        SECS(15),
        "return document.querySelectorAll('.chart path.series').length",
        |v| v.as_u64().unwrap_or(0) >= 1,
    )
    .await;
    s.screenshot(&shots.join("business.png")).await;

    // ---- Service map: every service, edges labelled.
    s.press("3").await;
    s.wait_for("the map", SECS(10), "return location.pathname", |v| {
        v == "/map"
    })
    .await;
    s.wait_for(
        "a node per service and the exchange",
        SECS(15),
        "return document.querySelectorAll('.node').length",
        |v| v.as_u64().unwrap_or(0) > services,
    )
    .await;
    // The asynchronous half: dashed edges through the exchange, labelled with their queue.
    let async_edges = s
        .wait_for(
            "asynchronous edges through the exchange",
            SECS(30),
            "return Array.from(document.querySelectorAll('.edge.async text')).map(e => e.textContent).join(' | ')",
            |v| {
                v.as_str()
                    .is_some_and(|t| t.contains("queued") && !t.contains("queued ?"))
            },
        )
        .await;
    println!("map async edges: {async_edges}");
    let async_count = s
        .script("return document.querySelectorAll('.edge.async').length")
        .await;
    assert!(
        async_count.as_u64().unwrap_or(0) >= 4,
        "orders -> exchange and the exchange -> each of the three consumers: {async_count}"
    );
    let label = s
        .wait_for(
            "labelled edges",
            SECS(15),
            "return Array.from(document.querySelectorAll('.edge text')).map(e => e.textContent).join(' | ')",
            |v| v.as_str().is_some_and(|t| t.contains("/s") && t.contains("p95")),
        )
        .await;
    println!(
        "map edges: {}",
        label
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect::<String>()
    );
    // No label covers another (measured by the browser's own text boxes), and an edge's
    // tooltip separates failures from 4xx answers.
    let overlaps = s
        .script(
            "const b = Array.from(document.querySelectorAll('.edge text')).filter(t => t.textContent).map(t => [t.textContent, t.getBBox()]); \
             const out = []; \
             for (let i = 0; i < b.length; i++) for (let j = i + 1; j < b.length; j++) { \
               const [x, p] = b[i], [y, q] = b[j]; \
               if (p.x < q.x + q.width && q.x < p.x + p.width && p.y < q.y + q.height && q.y < p.y + p.height) out.push(x + ' / ' + y); } \
             return out;",
        )
        .await;
    assert_eq!(overlaps, serde_json::json!([]), "overlapping edge labels");
    let tooltip = s
        .script("const t = document.querySelector('.edge title'); return t ? t.textContent : ''")
        .await;
    assert!(
        tooltip.as_str().is_some_and(|t| t.contains("answered 4xx")),
        "{tooltip}"
    );
    s.screenshot(&shots.join("map.png")).await;

    // ---- Service page: RED charts per route, traces, logs, neighbours.
    s.goto(&format!("{base}/services/checkout")).await;
    wait_live(&s).await;
    s.wait_for(
        "RED charts with route lines",
        SECS(20),
        "return document.querySelectorAll('.charts .chart path.series').length",
        |v| v.as_u64().unwrap_or(0) >= 3,
    )
    .await;
    s.wait_for(
        "the routes table",
        SECS(10),
        "return Array.from(document.querySelectorAll('.table td.mono')).map(e => e.textContent).join(',')",
        |v| v.as_str().is_some_and(|t| t.contains("/checkout")),
    )
    .await;
    s.wait_for(
        "its downstream services with health",
        SECS(10),
        "return Array.from(document.querySelectorAll('.neighbours a')).map(e => e.textContent).join(',')",
        |v| v.as_str().is_some_and(|t| t.contains("payment")),
    )
    .await;
    let slos = s
        .wait_for(
            "its availability and latency objectives",
            SECS(10),
            "return Array.from(document.querySelectorAll('.slos tr[data-slo] th')).map(e => e.textContent).join(' | ')",
            |v| {
                v.as_str()
                    .is_some_and(|t| t.contains("availability: 99.5% without a 5xx") && t.contains("latency: 99.0% within"))
            },
        )
        .await;
    println!("checkout SLOs: {slos}");
    s.screenshot(&shots.join("service-checkout.png")).await;

    // ---- Exemplars: every column of a chart opens the traces of its seconds (gateway is the
    // busiest service: every second has traces).
    s.goto(&format!("{base}/services/gateway")).await;
    wait_live(&s).await;
    let column = s
        .wait_for(
            "clickable chart columns",
            SECS(20),
            "const c = document.querySelectorAll('.charts .chart:first-child .exemplar'); return c.length >= 10 ? c[c.length - 5].getAttribute('href') : ''",
            |v| v.as_str().is_some_and(|h| h.starts_with("/traces?service=gateway&from_ms=")),
        )
        .await;
    s.goto(&format!("{base}{}", column.as_str().unwrap_or_default()))
        .await;
    wait_live(&s).await;
    let window = s
        .wait_for(
            "the chart point's second on the trace search",
            SECS(10),
            "const w = document.getElementById('trace-window'); return w ? w.textContent : ''",
            |v| v.as_str().is_some_and(|t| t.starts_with("between ")),
        )
        .await;
    let rows = s
        .wait_for(
            "traces from that second",
            SECS(10),
            "return document.querySelectorAll('table.traces tr[data-trace]').length",
            |v| v.as_u64().unwrap_or(0) >= 1,
        )
        .await;
    println!("exemplar column: {window}: {rows} traces");

    // ---- Trace comparison: tick two checkout traces, see them side by side.
    s.goto(&format!("{base}/traces?service=checkout")).await;
    wait_live(&s).await;
    s.wait_for(
        "two traces to pick",
        SECS(20),
        "return document.querySelectorAll('#compare-form input[name=t]').length",
        |v| v.as_u64().unwrap_or(0) >= 2,
    )
    .await;
    for n in [1, 2] {
        let pick = s
            .wait_element(
                &format!("#compare-form tbody tr:nth-child({n}) input[name=t]"),
                SECS(5),
            )
            .await;
        s.click(&pick).await;
    }
    let submit = s
        .wait_element("#compare-form button[type=submit]", SECS(5))
        .await;
    s.click(&submit).await;
    let summary = s
        .wait_for(
            "two traces side by side",
            SECS(15),
            "const p = document.getElementById('compare-summary'); return p ? p.textContent : ''",
            |v| v.as_str().is_some_and(|t| t.contains("spans matched")),
        )
        .await;
    let compared = s
        .script("return document.querySelectorAll('.cmp-table tbody tr').length")
        .await;
    assert!(compared.as_u64().unwrap_or(0) >= 2, "{compared}");
    println!("compare: {summary}");
    s.screenshot(&shots.join("trace-compare.png")).await;

    // ---- Traces: clicking an error trace opens its waterfall.
    s.goto(&format!("{base}/traces?status=error")).await;
    wait_live(&s).await;
    let link = s.wait_element("tr.error a.trace-link", SECS(20)).await;
    s.screenshot(&shots.join("traces.png")).await;
    let label = s.text(&link).await;
    assert!(!label.is_empty(), "the trace link names its root span");
    s.click(&link).await;
    s.wait_for(
        "the trace page",
        SECS(10),
        "return location.pathname",
        |v| {
            v.as_str()
                .is_some_and(|p| p.starts_with("/traces/") && p.len() == 8 + 32)
        },
    )
    .await;
    s.wait_for(
        "waterfall rows",
        SECS(15),
        "return document.querySelectorAll('.waterfall .wf-row').length",
        |v| v.as_u64().unwrap_or(0) >= 2,
    )
    .await;
    let critical = s
        .script("return document.querySelectorAll('.wf-row.critical').length")
        .await;
    assert!(
        critical.as_u64().unwrap_or(0) >= 1,
        "the critical path is highlighted"
    );
    // Every span is badged with its percentile among its operation's recent spans (or a dash
    // when too few are held); the busy ones are ranked.
    let badges = s
        .wait_for(
            "percentile badges",
            SECS(5),
            "const b = Array.from(document.querySelectorAll('.wf-row .wf-pct')); return b.length === document.querySelectorAll('.wf-row').length ? b.map(e => e.textContent).join(' ') : ''",
            |v| v.as_str().is_some_and(|t| t.split(' ').any(|b| b.starts_with('p'))),
        )
        .await;
    println!("percentile badges: {badges}");
    let error_row = s.wait_element(".wf-row.error .wf-button", SECS(5)).await;
    s.click(&error_row).await;
    s.wait_for(
        "the span's attributes",
        SECS(5),
        "const d = document.querySelector('.span-detail'); return d ? d.textContent : ''",
        |v| {
            v.as_str()
                .is_some_and(|t| t.contains("Attributes") && t.contains("http."))
        },
    )
    .await;
    s.screenshot(&shots.join("trace-waterfall.png")).await;

    let cleared = http
        .delete(format!("{base}/api/faults/{fault_id}"))
        .bearer_auth(&token)
        .header("x-apiary-actor", "browser-test")
        .send()
        .await
        .expect("clear the fault");
    assert_eq!(cleared.status(), 200, "the fault is cleared");

    // ---- Span links, both ways: a consumer's process span links to the checkout's send span,
    // and that trace lists the work it started.
    s.goto(&format!("{base}/traces?service=notifications"))
        .await;
    wait_live(&s).await;
    let consumer_trace = s.wait_element("a.trace-link", SECS(30)).await;
    s.click(&consumer_trace).await;
    let process = s
        .wait_element(".wf-button[aria-label*=' process']", SECS(15))
        .await;
    s.click(&process).await;
    let link = s.wait_element(".span-detail .span-links a", SECS(10)).await;
    let consumer_path = s.script("return location.pathname").await;
    s.click(&link).await;
    s.wait_for(
        "the producer's trace",
        SECS(10),
        "return location.pathname",
        |v| {
            v.as_str()
                .is_some_and(|p| p.starts_with("/traces/") && *v != consumer_path)
        },
    )
    .await;
    let linked = s
        .wait_for(
            "the producer trace's 'Linked from' list",
            SECS(15),
            "const h = document.getElementById('linked-h'); return h ? h.textContent : ''",
            |v| v.as_str().is_some_and(|t| t.starts_with("Linked from")),
        )
        .await;
    println!("producer trace: {linked}");
    s.screenshot(&shots.join("trace-links.png")).await;

    // ---- Logs: live tail with pause; a log opens its trace.
    s.goto(&format!("{base}/logs")).await;
    wait_live(&s).await;
    s.wait_for(
        "log rows",
        SECS(20),
        "return document.querySelectorAll('#log-list .log:not([hidden])').length",
        |v| v.as_u64().unwrap_or(0) >= 5,
    )
    .await;
    let first_row = "const r = document.querySelector('#log-list .log:not([hidden])'); return r ? r.textContent : ''";
    let head = s.script(first_row).await;
    s.wait_for("the tail to move", SECS(20), first_row, |v| *v != head)
        .await;
    let pause = s.wait_element("#tail-toggle", SECS(5)).await;
    s.click(&pause).await;
    assert_eq!(
        s.script("return document.getElementById('tail-toggle').getAttribute('aria-pressed')")
            .await,
        "true"
    );
    tokio::time::sleep(SECS(1)).await;
    let paused_head = s.script(first_row).await;
    tokio::time::sleep(SECS(3)).await;
    assert_eq!(
        s.script(first_row).await,
        paused_head,
        "a paused tail does not move"
    );
    s.screenshot(&shots.join("logs.png")).await;
    let log_link = s.wait_element("#log-list a.log-link", SECS(5)).await;
    s.click(&log_link).await;
    s.wait_for("a log's trace", SECS(10), "return location.pathname", |v| {
        v.as_str().is_some_and(|p| p.starts_with("/traces/"))
    })
    .await;

    // ---- Done-when: from a tile to the failing trace to its logs in three clicks (reviews: its
    // fault made real failures; a declined checkout is no longer an error trace).
    s.goto(&format!("{base}/")).await;
    wait_live(&s).await;
    let tile = s.wait_element("[data-service=reviews]", SECS(10)).await;
    s.click(&tile).await; // 1
    let failing = s
        .wait_element("#err-h ~ table tr.error a.trace-link", SECS(20))
        .await;
    s.click(&failing).await; // 2
    let logs_link = s.wait_element("#trace-logs-link", SECS(15)).await;
    s.click(&logs_link).await; // 3
    s.wait_for(
        "the trace's logs",
        SECS(15),
        "return location.pathname + location.search",
        |v| v.as_str().is_some_and(|p| p.starts_with("/logs?trace_id=")),
    )
    .await;
    s.wait_for(
        "log rows of that trace",
        SECS(15),
        "return document.querySelectorAll('#log-list .log:not([hidden])').length",
        |v| v.as_u64().unwrap_or(0) >= 1,
    )
    .await;
    s.screenshot(&shots.join("three-clicks-logs.png")).await;
    println!("final url: {}", s.current_url().await);

    // ---- Faults and drills: a drill run (through the control API, with the stack's token)
    // puts a banner on the overview and shades the charts while its fault is on; afterwards the
    // Drills page lists the run and opens its report.
    let started = http
        .post(format!("{base}/api/drills/orders-not-ready/run"))
        .bearer_auth(&token)
        .header("x-apiary-actor", "browser-test")
        .json(&serde_json::json!({"time_scale": 0.2}))
        .send()
        .await
        .expect("start a drill");
    assert_eq!(started.status(), 202, "the drill starts");
    let run: Value = started.json().await.expect("run");
    let run_id = run["id"].as_str().expect("a run id").to_owned();
    s.goto(&format!("{base}/")).await;
    wait_live(&s).await;
    let banner = s
        .wait_for(
            "the fault banner",
            SECS(20),
            "return Array.from(document.querySelectorAll('.banner.fault')).map(b => b.textContent).join(' | ').toLowerCase()",
            |v| v.as_str().is_some_and(|t| t.contains("orders")),
        )
        .await;
    println!("banner: {banner}");
    s.wait_for(
        "the orders tile to go down",
        SECS(20),
        "return document.querySelector('[data-service=orders]').className",
        |v| v.as_str().is_some_and(|c| c.contains("h-down")),
    )
    .await;
    s.screenshot(&shots.join("overview-fault.png")).await;
    s.goto(&format!("{base}/services/orders")).await;
    wait_live(&s).await;
    s.wait_for(
        "the fault shaded on the charts",
        SECS(20),
        "return document.querySelectorAll('.chart .fault-shade').length",
        |v| v.as_u64().unwrap_or(0) >= 1,
    )
    .await;
    s.screenshot(&shots.join("service-orders-fault.png")).await;
    api_until(
        &http,
        &format!("{base}/api/drills/runs/{run_id}"),
        "the drill to finish",
        SECS(90),
        |r| r["verdict"].as_str().is_some_and(|v| v != "running"),
    )
    .await;
    s.press("6").await;
    s.wait_for(
        "the drills page",
        SECS(10),
        "return location.pathname",
        |v| v == "/drills",
    )
    .await;
    let run_link = s
        .wait_element(
            &format!("table.runs a[href='/drills/runs/{run_id}']"),
            SECS(20),
        )
        .await;
    s.screenshot(&shots.join("drills.png")).await;
    s.click(&run_link).await;
    s.wait_for(
        "the drill report's timeline",
        SECS(15),
        "return document.querySelectorAll('ol.timeline li').length",
        |v| v.as_u64().unwrap_or(0) >= 3,
    )
    .await;
    let verdict = s
        .script("return document.querySelector('.page-title').textContent")
        .await;
    println!("drill report: {verdict}");
    assert!(
        verdict.as_str().is_some_and(|t| t.contains("passed")),
        "the drill passed: {verdict}"
    );
    // The overview was open while the drill's fault took orders down: this browser reported
    // showing it, so every stage of the breakdown has a time, the UI's included.
    let stages = s
        .script(
            "return Array.from(document.querySelectorAll('.stages tr[data-stage]')).map(r => r.dataset.stage + '=' + r.children[1].textContent)",
        )
        .await;
    println!("drill stages: {stages}");
    let ui = s
        .script(
            "const r = document.querySelector(\".stages tr[data-stage='the UI showed it']\"); return r ? r.children[1].textContent : ''",
        )
        .await;
    assert!(
        ui.as_str().is_some_and(|t| t.ends_with(" ms")),
        "the UI stage has a time: {stages}"
    );
    let cause_check = s
        .script("const c = document.getElementById('cause-check'); return c ? c.textContent : ''")
        .await;
    assert!(
        cause_check.as_str().is_some_and(|t| t.contains("right")),
        "the report's probable cause names orders: {cause_check}"
    );
    s.screenshot(&shots.join("drill-report.png")).await;

    s.quit().await;
    println!(
        "shopper journeys during the run: {}",
        traffic.sent.load(std::sync::atomic::Ordering::Relaxed)
    );
    traffic.finish().await;
    drop(stack);
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_dir_all(&dir);
}
