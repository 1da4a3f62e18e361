use std::time::Duration;

use apiary_load::engine::Run;
use apiary_load::profile::Profile;
use wiremock::matchers::{body_string_contains, header_regex, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::config;

/// Every shop action once (no think time), plus a declined checkout.
const ALL_STEPS: &str = r#"
[shop]
search_terms = ["night"]
countries = ["FR"]

[[journey]]
name = "everything"
weight = 3
steps = [
  { action = "landing" },
  { action = "browse" },
  { action = "search" },
  { action = "product" },
  { action = "create_cart" },
  { action = "add_to_cart", quantity = "1..2" },
  { action = "view_cart" },
  { action = "update_cart", quantity = 3 },
  { action = "remove_from_cart" },
  { action = "add_to_cart" },
  { action = "checkout", card = "valid" },
  { action = "order_status" },
]

[[journey]]
name = "declined"
weight = 1
steps = [
  { action = "product" },
  { action = "add_to_cart" },
  { action = "checkout", card = "declined" },
  { action = "order_status" },
]
"#;

/// A gateway that answers only requests carrying the synthetic-session baggage (anything
/// else gets wiremock's 404, which the run would count as an error).
async fn gateway() -> MockServer {
    let server = MockServer::start().await;
    let json =
        |status: u16, body: serde_json::Value| ResponseTemplate::new(status).set_body_json(body);
    let mocks: Vec<(wiremock::MockBuilder, ResponseTemplate)> = vec![
        (
            Mock::given(method("GET")).and(path("/api/categories")),
            json(
                200,
                serde_json::json!({"items": [{"name": "books", "count": 3}, {"name": "music", "count": 1}]}),
            ),
        ),
        (
            Mock::given(method("GET")).and(path("/api/products")),
            json(
                200,
                serde_json::json!({"items": [{"id": "BK-0001"}, {"id": "BK-0002"}, {"id": "MU-0001"}], "total": 3, "limit": 100, "offset": 0}),
            ),
        ),
        (
            Mock::given(method("GET")).and(path_regex(r"^/api/products/(BK|MU)-000\d$")),
            json(200, serde_json::json!({"product": {}})),
        ),
        (
            Mock::given(method("POST")).and(path("/api/carts")),
            json(201, serde_json::json!({"cart_id": "cart-1"})),
        ),
        (
            Mock::given(method("GET")).and(path("/api/carts/cart-1")),
            json(200, serde_json::json!({"cart_id": "cart-1", "items": []})),
        ),
        (
            Mock::given(method("POST"))
                .and(path("/api/carts/cart-1/items"))
                .and(body_string_contains("\"product_id\"")),
            json(200, serde_json::json!({"cart_id": "cart-1"})),
        ),
        (
            Mock::given(method("PUT"))
                .and(path_regex(r"^/api/carts/cart-1/items/(BK|MU)-000\d$"))
                .and(body_string_contains("\"quantity\":3")),
            json(200, serde_json::json!({"cart_id": "cart-1"})),
        ),
        (
            Mock::given(method("DELETE"))
                .and(path_regex(r"^/api/carts/cart-1/items/(BK|MU)-000\d$")),
            json(200, serde_json::json!({"cart_id": "cart-1"})),
        ),
        (
            Mock::given(method("POST"))
                .and(path("/api/checkout"))
                .and(body_string_contains("4000000000000002"))
                .and(header_regex(
                    "idempotency-key",
                    r"^load-[0-9a-f]{8}-[0-9a-f]{16}$",
                )),
            json(
                402,
                serde_json::json!({"error": {"code": "card_declined", "message": "declined"}}),
            ),
        ),
        (
            Mock::given(method("POST"))
                .and(path("/api/checkout"))
                .and(body_string_contains("4242424242424242"))
                .and(body_string_contains("\"country\":\"FR\""))
                .and(header_regex(
                    "idempotency-key",
                    r"^load-[0-9a-f]{8}-[0-9a-f]{16}$",
                )),
            json(
                201,
                serde_json::json!({"order_id": "order-1", "status": "placed"}),
            ),
        ),
        (
            Mock::given(method("GET")).and(path("/api/orders/order-1")),
            json(200, serde_json::json!({"order_id": "order-1"})),
        ),
    ];
    for (m, response) in mocks {
        m.and(header_regex(
            "baggage",
            r"^synthetic_request=true(,session\.id=[0-9a-f]{16})?$",
        ))
        .respond_with(response)
        .mount(&server)
        .await;
    }
    server
}

#[tokio::test]
async fn every_shop_step_runs_against_the_gateway_api_with_session_baggage() {
    let server = gateway().await;
    let profile = Profile::parse(ALL_STEPS, "test profile").expect("valid profile");
    let cfg = config(&server.uri(), profile, 20.0, Duration::from_secs(2)).await;
    let results = Run::start(cfg).wait().await.expect("the run takes place");

    assert_eq!(results.errors, 0, "{:#?}", results.steps);
    for step in [
        "landing",
        "browse",
        "search",
        "product",
        "create_cart",
        "add_to_cart",
        "view_cart",
        "update_cart",
        "remove_from_cart",
        "checkout",
        "order_status",
    ] {
        let s = results.steps.iter().find(|s| s.step == step);
        assert!(
            s.is_some_and(|s| s.requests > 0),
            "no {step} requests: {:#?}",
            results.steps
        );
    }
    let checkout = results
        .steps
        .iter()
        .find(|s| s.step == "checkout")
        .expect("checkout");
    assert!(checkout.ok > 0, "{checkout:?}");
    assert!(
        checkout.rejected.get("402").is_some_and(|n| *n > 0),
        "{checkout:?}"
    );
    // The declined journey has no order to look up: skipped, not an error.
    let status = results
        .steps
        .iter()
        .find(|s| s.step == "order_status")
        .expect("order_status");
    assert!(status.skipped > 0, "{status:?}");
    assert_eq!(
        results.journeys.iter().map(|j| j.failed).sum::<u64>(),
        0,
        "{:#?}",
        results.journeys
    );
}

#[tokio::test]
async fn an_unreachable_gateway_ends_the_run_with_a_clear_error() {
    // A port nothing listens on: bind one and drop it.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let profile = Profile::builtin_shop().expect("built-in profile");
    let cfg = config(
        &format!("http://{addr}"),
        profile,
        5.0,
        Duration::from_secs(2),
    )
    .await;
    let err = Run::start(cfg)
        .wait()
        .await
        .expect_err("no catalog, no run");
    assert!(err.to_string().contains("never answered"), "{err}");
}
