//! The saga survives what a request cannot: duplicates, callers that hang up, deadlines, and
//! checkout itself being killed at any step.

use std::collections::BTreeMap;
use std::time::Duration;

use apiary_testkit::ServiceBinary;
use serde_json::Value;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    CHECKOUT_ID, TestApp, checkout_body, checkout_body_for, error_code, reservation, spawn_app,
};

const CARD: &str = "4242424242424242";

/// Release and void succeed for any checkout id.
async fn mount_undo(app: &TestApp) {
    Mock::given(method("POST"))
        .and(path_regex("^/reservations/[^/]+/release$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reservation("released")))
        .mount(&app.inventory)
        .await;
    Mock::given(method("POST"))
        .and(path("/voids"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "idempotency_key": CHECKOUT_ID, "outcome": "voided", "charge_id": "ch_1"
        })))
        .mount(&app.payment)
        .await;
}

/// Every step succeeds; the charge takes `charge_delay`.
async fn mount_happy(app: &TestApp, charge_delay: Duration) {
    app.mount_reads().await;
    app.mount_hold_and_quote().await;
    Mock::given(method("POST"))
        .and(path("/charges"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({
                    "charge_id": "ch_1", "idempotency_key": CHECKOUT_ID, "status": "captured",
                    "amount": {"amount_minor": 4990, "currency": "EUR"},
                    "card_brand": "visa", "card_last4": "4242", "created_at_ms": 1
                }))
                .set_delay(charge_delay),
        )
        .mount(&app.payment)
        .await;
    app.mount_after_charge().await;
    mount_undo(app).await;
}

async fn status_of(base_url: impl Fn(&str) -> String, http: &reqwest::Client) -> Value {
    http.get(base_url(&format!("/checkouts/{CHECKOUT_ID}")))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json")
}

/// Waits (bounded) until the checkout's saga and clean-up are all finished.
async fn settle_at(http: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        let status: Value = http
            .get(format!("{base}/compensations"))
            .send()
            .await
            .expect("compensations")
            .json()
            .await
            .expect("json");
        if status["pending"] == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the saga did not finish within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_with_one_key_charge_once_and_place_one_order() {
    let app = spawn_app().await;
    // A slow charge keeps the first saga running while the others arrive.
    mount_happy(&app, Duration::from_millis(200)).await;
    let requests = (0..50).map(|_| {
        let http = app.http.clone();
        let url = format!("{}/checkouts", app.address);
        async move {
            let resp = http
                .post(url)
                .json(&checkout_body(CARD))
                .send()
                .await
                .expect("answer");
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.expect("json");
            (status, body)
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    let mut statuses = BTreeMap::<u16, usize>::new();
    for (status, body) in &answers {
        *statuses.entry(*status).or_default() += 1;
        assert_eq!(body["order_id"], CHECKOUT_ID, "{status} {body}");
        assert_eq!(body["charge_id"], "ch_1", "{status} {body}");
    }
    // One request ran the saga (201); the 49 others waited for it and got its order (200).
    assert_eq!(statuses, BTreeMap::from([(200, 49), (201, 1)]));
    assert_eq!(TestApp::calls(&app.payment, "POST", "/charges").await, 1);
    assert_eq!(TestApp::calls(&app.orders, "POST", "/orders").await, 1);
    assert_eq!(
        TestApp::calls(&app.inventory, "POST", "/reservations").await,
        1
    );
    assert_eq!(TestApp::calls(&app.payment, "POST", "/voids").await, 0);
}

#[tokio::test]
async fn a_key_reused_for_another_cart_is_refused() {
    let app = spawn_app().await;
    mount_happy(&app, Duration::ZERO).await;
    assert_eq!(app.checkout(&checkout_body(CARD)).await.status(), 201);
    let mut other = checkout_body(CARD);
    other["cart_id"] = "cart-2".into();
    let resp = app.checkout(&other).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error_code(resp).await, "idempotency_key_reused");
    let mut elsewhere = checkout_body(CARD);
    elsewhere["shipping"]["country"] = "FR".into();
    let resp = app.checkout(&elsewhere).await;
    assert_eq!(error_code(resp).await, "idempotency_key_reused");
    assert_eq!(TestApp::calls(&app.payment, "POST", "/charges").await, 1);
}

#[tokio::test]
async fn a_caller_that_hangs_up_mid_saga_does_not_stop_it() {
    let app = spawn_app().await;
    mount_happy(&app, Duration::from_millis(300)).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    let cut = impatient
        .post(format!("{}/checkouts", app.address))
        .json(&checkout_body(CARD))
        .send()
        .await;
    assert!(cut.is_err(), "the caller was meant to give up first");
    settle_at(&app.http, &app.address).await;
    // The saga went on without its request: charged, recorded, committed, emptied.
    assert_eq!(TestApp::calls(&app.orders, "POST", "/orders").await, 1);
    assert_eq!(
        TestApp::calls(&app.inventory, "POST", "/reservations/co-1/commit").await,
        1
    );
    assert_eq!(
        TestApp::calls(&app.cart, "DELETE", "/carts/cart-1").await,
        1
    );
    assert_eq!(TestApp::calls(&app.payment, "POST", "/voids").await, 0);
    let status = status_of(|p| app.url(p), &app.http).await;
    assert_eq!(status["state"], "placed", "{status}");
    // The shopper's retry gets the order.
    assert_eq!(app.checkout(&checkout_body(CARD)).await.status(), 200);
}

#[tokio::test]
async fn a_saga_past_the_callers_deadline_answers_202_with_a_status_url_and_finishes() {
    let app = spawn_app().await;
    mount_happy(&app, Duration::from_millis(350)).await;
    let resp = app
        .http
        .post(format!("{}/checkouts", app.address))
        .header("apiary-deadline-ms", "150")
        .json(&checkout_body(CARD))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 202);
    assert_eq!(
        resp.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/checkouts/co-1")
    );
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["state"], "running", "{body}");
    assert_eq!(body["status_url"], "/checkouts/co-1");
    settle_at(&app.http, &app.address).await;
    let status = status_of(|p| app.url(p), &app.http).await;
    assert_eq!(status["state"], "placed", "{status}");
    assert_eq!(status["result"]["total"]["amount_minor"], 4990);
    assert_eq!(TestApp::calls(&app.payment, "POST", "/charges").await, 1);
    let unknown = app.get("/checkouts/nope").await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(error_code(unknown).await, "checkout_not_found");
    let bad = app.get("/checkouts/..%2Fx").await;
    assert_eq!(bad.status(), 422);
}

/// What the restarted checkout must have done for a saga killed at that point.
struct Expect {
    state: &'static str,
    /// The replay's status.
    replay: u16,
    voids: bool,
    releases: bool,
    /// The order recorded, the stock committed, the cart emptied.
    placed: bool,
}

fn expected(step: &str) -> Expect {
    let undone = |voids, releases| Expect {
        state: "failed",
        replay: 409,
        voids,
        releases,
        placed: false,
    };
    match step {
        "read_cart" | "price_items" => undone(false, false),
        "reserve_stock" | "quote_shipping" => undone(false, true),
        "charge_payment" => undone(true, true),
        _ => Expect {
            state: "placed",
            replay: 200,
            voids: false,
            releases: false,
            placed: true,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_killed_at_every_saga_step_restarts_and_loses_nothing() {
    let steps = [
        "read_cart",
        "price_items",
        "reserve_stock",
        "quote_shipping",
        "charge_payment",
        "record_order",
    ];
    for step in steps {
        for side in ["before", "after"] {
            let point = format!("{step}:{side}");
            let app = spawn_app().await;
            mount_happy(&app, Duration::ZERO).await;
            // The binary is ready only when the peers it needs are alive.
            for peer in [&app.cart, &app.inventory, &app.payment, &app.orders] {
                Mock::given(method("GET"))
                    .and(path("/health/live"))
                    .respond_with(ResponseTemplate::new(200))
                    .mount(peer)
                    .await;
            }
            let data = tempfile::tempdir().expect("data dir");
            let urls: Vec<(String, String)> = [
                ("CART_URL", app.cart.uri()),
                ("CATALOG_URL", app.catalog.uri()),
                ("INVENTORY_URL", app.inventory.uri()),
                ("SHIPPING_URL", app.shipping.uri()),
                ("PAYMENT_URL", app.payment.uri()),
                ("ORDERS_URL", app.orders.uri()),
                ("CHECKOUT_COMPENSATION_RETRY_MS", "50".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            let mut env: Vec<(&str, &str)> =
                urls.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let program = env!("CARGO_BIN_EXE_checkout");
            let hooked = [env.clone(), vec![("CHECKOUT_CRASH_AT", point.as_str())]].concat();
            let mut doomed =
                ServiceBinary::start_with_env(program, &[], &hooked, data.path()).await;
            let cut = app
                .http
                .post(doomed.url("/checkouts"))
                .json(&checkout_body(CARD))
                .send()
                .await;
            assert!(
                cut.is_err(),
                "{point}: checkout answered instead of dying: {cut:?}"
            );
            let exit = doomed.wait_exit(Duration::from_secs(10)).await;
            assert!(exit.is_some_and(|s| !s.success()), "{point}: {exit:?}");

            // Same data directory, no hook: the restart concludes the saga from its log.
            env.retain(|(k, _)| *k != "CHECKOUT_CRASH_AT");
            let restarted = ServiceBinary::start_with_env(program, &[], &env, data.path()).await;
            settle_at(&app.http, restarted.base()).await;
            let want = expected(step);
            let status = status_of(|p| restarted.url(p), &app.http).await;
            assert_eq!(status["state"], want.state, "{point}: {status}");
            let voids = TestApp::calls(&app.payment, "POST", "/voids").await;
            let releases =
                TestApp::calls(&app.inventory, "POST", "/reservations/co-1/release").await;
            let orders = TestApp::calls(&app.orders, "POST", "/orders").await;
            let commits = TestApp::calls(&app.inventory, "POST", "/reservations/co-1/commit").await;
            let emptied = TestApp::calls(&app.cart, "DELETE", "/carts/cart-1").await;
            assert_eq!(voids > 0, want.voids, "{point}: {voids} voids");
            assert_eq!(releases > 0, want.releases, "{point}: {releases} releases");
            assert_eq!(orders > 0, want.placed, "{point}: {orders} orders");
            assert_eq!(commits > 0, want.placed, "{point}: {commits} commits");
            assert_eq!(emptied > 0, want.placed, "{point}: {emptied} carts emptied");
            // A charge is either kept with its order or voided: never both, never neither.
            let charged = TestApp::calls(&app.payment, "POST", "/charges").await > 0;
            if charged {
                assert!(want.placed != want.voids, "{point}: a charge left hanging");
            }
            // The shopper's retry hears the verdict; nothing runs again.
            let replay = app
                .http
                .post(restarted.url("/checkouts"))
                .json(&checkout_body(CARD))
                .send()
                .await
                .expect("replay");
            assert_eq!(replay.status().as_u16(), want.replay, "{point}");
            if want.replay == 409 {
                assert_eq!(error_code(replay).await, "checkout_interrupted", "{point}");
            }
            let other = app
                .http
                .post(restarted.url("/checkouts"))
                .json(&checkout_body_for("co-next", CARD))
                .send()
                .await
                .expect("a new checkout");
            assert!(other.status().is_success(), "{point}: {}", other.status());
            restarted.kill();
        }
    }
}
