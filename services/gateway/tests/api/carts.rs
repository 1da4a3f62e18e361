//! Carts: ids at the edge, the product and stock checks before an add, enriched views.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    TestApp, cart_json, error_code, error_json, product_json, product_titled, spawn_app,
};

const CART: &str = "7d0a3c52-8f1e-4c4b-9a51-2b7c9e0f6d13";

fn items_path() -> String {
    format!("/api/carts/{CART}/items")
}

/// The cart service accepts an add of `quantity` BK-0001 and answers `answer`.
async fn mount_cart_add(app: &TestApp, quantity: u32, answer: Value) {
    Mock::given(method("POST"))
        .and(path(format!("/carts/{CART}/items")))
        .and(body_json(
            json!({"product_id": "BK-0001", "quantity": quantity}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&app.cart)
        .await;
}

#[tokio::test]
async fn a_new_cart_is_a_fresh_uuid() {
    let app = spawn_app().await;
    let resp = app
        .http
        .post(app.url("/api/carts"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.expect("json");
    let id = body["cart_id"].as_str().expect("cart_id");
    let parsed = uuid_v4(id);
    assert!(parsed, "{id}");
    let again: Value = app
        .http
        .post(app.url("/api/carts"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_ne!(again["cart_id"], body["cart_id"]);
}

/// 8-4-4-4-12 lower-case hex with version 4.
fn uuid_v4(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
        && groups[2].starts_with('4')
}

#[tokio::test]
async fn adding_a_product_answers_the_enriched_cart() {
    let app = spawn_app().await;
    app.mount_product(product_json("BK-0001")).await;
    app.mount_stock("BK-0001", 10).await;
    mount_cart_add(&app, 2, cart_json(CART, &[("BK-0001", 2), ("MU-0002", 1)])).await;
    app.mount_products_by_ids(
        "BK-0001,MU-0002",
        vec![
            product_json("BK-0001"),
            product_titled("MU-0002", "Kind of Blue"),
        ],
    )
    .await;
    let resp = app
        .post_json(
            &items_path(),
            &json!({"product_id": "BK-0001", "quantity": 2}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let cart: Value = resp.json().await.expect("json");
    assert_eq!(cart["cart_id"], CART);
    assert_eq!(cart["lines"][0]["title"], "Dracula");
    assert_eq!(cart["lines"][0]["unit_price"]["amount_minor"], 1099);
    assert_eq!(cart["lines"][0]["line_total"]["amount_minor"], 2198);
    assert_eq!(cart["lines"][1]["title"], "Kind of Blue");
    assert_eq!(cart["units"], 3);
    assert_eq!(
        cart["subtotal"],
        json!({"amount_minor": 3297, "currency": "EUR"})
    );
    assert_eq!(cart["unknown_items"], json!([]));
}

#[tokio::test]
async fn adding_an_unknown_product_is_404_and_the_cart_is_not_touched() {
    let app = spawn_app().await;
    Mock::given(path("/products/BK-9999"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(error_json("unknown_product", "no such product")),
        )
        .mount(&app.catalog)
        .await;
    let resp = app
        .post_json(
            &items_path(),
            &json!({"product_id": "BK-9999", "quantity": 1}),
        )
        .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(error_code(resp).await, "unknown_product");
    assert_eq!(TestApp::received(&app.cart).await, 0);
}

#[tokio::test]
async fn quantities_outside_1_to_99_are_422_before_any_call() {
    let app = spawn_app().await;
    for quantity in [json!(0), json!(100), json!(-1), json!(1_000_000_000_000i64)] {
        let resp = app
            .post_json(
                &items_path(),
                &json!({"product_id": "BK-0001", "quantity": quantity}),
            )
            .await;
        assert_eq!(resp.status(), 422, "{quantity}");
        assert_eq!(error_code(resp).await, "invalid_quantity", "{quantity}");
    }
    let resp = app
        .post_json(
            &items_path(),
            &json!({"product_id": "BK-0001", "quantity": "two"}),
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_code(resp).await, "invalid_body");
    for server in [&app.catalog, &app.inventory, &app.cart] {
        assert_eq!(TestApp::received(server).await, 0);
    }
}

#[tokio::test]
async fn more_than_is_in_stock_is_409() {
    let app = spawn_app().await;
    app.mount_product(product_json("BK-0001")).await;
    app.mount_stock("BK-0001", 2).await;
    let resp = app
        .post_json(
            &items_path(),
            &json!({"product_id": "BK-0001", "quantity": 3}),
        )
        .await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error_code(resp).await, "out_of_stock");
    assert_eq!(TestApp::received(&app.cart).await, 0);
    // Counted as a stock-out seen at the cart.
    let metrics = app
        .http
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("shop_stockouts_total{stage=\"cart\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_add_is_allowed_when_inventory_does_not_answer() {
    let app = spawn_app().await;
    app.mount_product(product_json("BK-0001")).await;
    Mock::given(path("/stock/BK-0001"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&app.inventory)
        .await;
    mount_cart_add(&app, 1, cart_json(CART, &[("BK-0001", 1)])).await;
    app.mount_products_by_ids("BK-0001", vec![product_json("BK-0001")])
        .await;
    let resp = app
        .post_json(
            &items_path(),
            &json!({"product_id": "BK-0001", "quantity": 1}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let cart: Value = resp.json().await.expect("json");
    assert_eq!(cart["units"], 1);
    assert_eq!(cart["lines"][0]["available"], Value::Null, "no stock hint");
}

#[tokio::test]
async fn malformed_ids_and_bodies_are_4xx_json_before_any_call() {
    let app = spawn_app().await;
    let cases: [(&str, Value, u16, &str); 3] = [
        (
            "/api/carts/not%20an%20id/items",
            json!({"product_id": "BK-0001", "quantity": 1}),
            400,
            "invalid_id",
        ),
        (
            &items_path(),
            json!({"product_id": "../../admin", "quantity": 1}),
            400,
            "invalid_id",
        ),
        (&items_path(), json!({"quantity": 1}), 422, "invalid_body"),
    ];
    for (url, body, status, code) in cases {
        let resp = app.post_json(url, &body).await;
        assert_eq!(resp.status(), status, "{url} {body}");
        assert_eq!(error_code(resp).await, code, "{url} {body}");
    }
    let resp = app
        .http
        .post(app.url(&items_path()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "malformed_json");
    let resp = app
        .http
        .post(app.url(&items_path()))
        .header("content-type", "application/json")
        .body(vec![b' '; 200 * 1024])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 413);
    assert_eq!(error_code(resp).await, "body_too_large");
    let resp = app.get(&format!("/api/carts/{}", "x".repeat(65))).await;
    assert_eq!(resp.status(), 400);
    for server in [&app.catalog, &app.inventory, &app.cart] {
        assert_eq!(TestApp::received(server).await, 0);
    }
}

#[tokio::test]
async fn a_cart_is_shown_with_lines_the_catalog_no_longer_knows_set_apart() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path(format!("/carts/{CART}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(cart_json(CART, &[("BK-0001", 1), ("BK-0404", 2)])),
        )
        .mount(&app.cart)
        .await;
    app.mount_products_by_ids("BK-0001,BK-0404", vec![product_json("BK-0001")])
        .await;
    Mock::given(method("GET"))
        .and(path("/stock"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": [
            {"product_id": "BK-0001", "available": 4, "reserved": 0, "sold": 0}
        ]})))
        .mount(&app.inventory)
        .await;
    let resp = app.get(&format!("/api/carts/{CART}")).await;
    assert_eq!(resp.status(), 200);
    let cart: Value = resp.json().await.expect("json");
    assert_eq!(cart["lines"].as_array().map(Vec::len), Some(1));
    assert_eq!(cart["lines"][0]["available"], 4);
    assert_eq!(
        cart["unknown_items"],
        json!([{"product_id": "BK-0404", "quantity": 2}])
    );
    assert_eq!(cart["subtotal"]["amount_minor"], 1099);
}

#[tokio::test]
async fn an_empty_cart_needs_no_catalog_call() {
    let app = spawn_app().await;
    Mock::given(path(format!("/carts/{CART}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"cart_id": CART, "items": []})),
        )
        .mount(&app.cart)
        .await;
    let cart: Value = app
        .get(&format!("/api/carts/{CART}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(cart["units"], 0);
    assert_eq!(
        cart["subtotal"],
        json!({"amount_minor": 0, "currency": "EUR"})
    );
    assert_eq!(TestApp::received(&app.catalog).await, 0);
}

#[tokio::test]
async fn quantities_are_set_and_lines_removed() {
    let app = spawn_app().await;
    app.mount_stock("BK-0001", 10).await;
    Mock::given(method("PUT"))
        .and(path(format!("/carts/{CART}/items/BK-0001")))
        .and(body_json(json!({"quantity": 5})))
        .respond_with(ResponseTemplate::new(200).set_body_json(cart_json(CART, &[("BK-0001", 5)])))
        .expect(1)
        .mount(&app.cart)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/carts/{CART}/items/BK-0001")))
        .respond_with(ResponseTemplate::new(200).set_body_json(cart_json(CART, &[])))
        .expect(1)
        .mount(&app.cart)
        .await;
    app.mount_products_by_ids("BK-0001", vec![product_json("BK-0001")])
        .await;
    let url = app.url(&format!("/api/carts/{CART}/items/BK-0001"));
    let resp = app
        .http
        .put(&url)
        .json(&json!({"quantity": 5}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let cart: Value = resp.json().await.expect("json");
    assert_eq!(cart["units"], 5);
    let resp = app
        .http
        .put(&url)
        .json(&json!({"quantity": 11}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 409, "more than the 10 in stock");
    let resp = app
        .http
        .put(&url)
        .json(&json!({"quantity": 100}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 422);
    let resp = app.http.delete(&url).send().await.expect("request");
    assert_eq!(resp.status(), 200);
    let cart: Value = resp.json().await.expect("json");
    assert_eq!(cart["lines"], json!([]));
}

#[tokio::test]
async fn a_cart_service_outage_is_503_json() {
    let app = crate::helpers::spawn_with(|c| c.cart.url = crate::helpers::unreachable_url()).await;
    let resp = app.get(&format!("/api/carts/{CART}")).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(error_code(resp).await, "upstream_unavailable");
}
