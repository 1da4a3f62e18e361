use apiary_wire::shop::{NewOrder, Order};
use serde_json::{Value, json};

use crate::helpers::{error, order, spawn_app};

#[tokio::test]
async fn a_new_order_is_recorded_as_placed() {
    let app = spawn_app().await;
    let body = order("o-1");
    let before = apiary_store::now_ms();
    let resp = app.place(&body).await;
    assert_eq!(resp.status(), 201);
    let placed: Order = resp.json().await.expect("order");
    let sent: NewOrder = serde_json::from_value(body).expect("new order");
    assert_eq!(placed.order_id, "o-1");
    assert_eq!(placed.status, "placed");
    assert_eq!(placed.seq, 1);
    assert_eq!(placed.lines, sent.lines);
    assert_eq!((placed.shipping, placed.total), (sent.shipping, sent.total));
    assert_eq!(
        (
            &placed.cart_id,
            &placed.charge_id,
            &placed.reservation_id,
            &placed.quote_id
        ),
        (
            &sent.cart_id,
            &sent.charge_id,
            &sent.reservation_id,
            &sent.quote_id
        )
    );
    assert!(placed.created_at_ms >= before);

    let resp = app.get("/orders/o-1").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Order>().await.expect("read"), placed);
}

#[tokio::test]
async fn the_same_body_replays_and_another_body_conflicts() {
    let app = spawn_app().await;
    let first: Order = app.place(&order("o-1")).await.json().await.expect("order");
    let resp = app.place(&order("o-1")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Order>().await.expect("replay"), first);

    let mut other = order("o-1");
    other["charge_id"] = json!("ch_2");
    let resp = app.place(&other).await;
    assert_eq!(resp.status(), 409);
    let (code, message) = error(resp).await;
    assert_eq!(code, "order_conflict");
    assert!(message.contains("o-1"), "{message}");

    let summary: Value = app
        .get("/orders/summary")
        .await
        .json()
        .await
        .expect("summary");
    assert_eq!(summary["orders"], 1);
}

#[tokio::test]
async fn invalid_orders_are_a_422_with_a_specific_code() {
    let app = spawn_app().await;
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut with = |edit: &dyn Fn(&mut Value), code: &'static str| {
        let mut body = order("o-bad");
        edit(&mut body);
        cases.push((body, code));
    };
    with(&|o| o["order_id"] = json!("has space"), "invalid_order_id");
    with(&|o| o["order_id"] = json!(""), "invalid_order_id");
    with(&|o| o["cart_id"] = json!("x".repeat(65)), "invalid_cart_id");
    with(&|o| o["charge_id"] = json!("ch/1"), "invalid_charge_id");
    with(
        &|o| o["reservation_id"] = json!("r.1"),
        "invalid_reservation_id",
    );
    with(&|o| o["quote_id"] = json!("q 1"), "invalid_quote_id");
    with(&|o| o["lines"] = json!([]), "invalid_lines");
    with(
        &|o| {
            let line = o["lines"][1].clone();
            o["lines"] = Value::Array(vec![line; 51]);
        },
        "invalid_lines",
    );
    with(
        &|o| o["lines"][0]["product_id"] = json!("BK-1"),
        "invalid_product_id",
    );
    with(&|o| o["lines"][0]["title"] = json!(" "), "invalid_title");
    with(
        &|o| o["lines"][0]["quantity"] = json!(0),
        "invalid_quantity",
    );
    with(
        &|o| o["lines"][0]["quantity"] = json!(100),
        "invalid_quantity",
    );
    with(
        &|o| o["lines"][0]["unit_price"]["amount_minor"] = json!(0),
        "invalid_price",
    );
    with(
        &|o| o["shipping"]["amount_minor"] = json!(-1),
        "invalid_price",
    );
    with(
        &|o| o["lines"][1]["unit_price"]["currency"] = json!("USD"),
        "currency_mismatch",
    );
    with(
        &|o| o["shipping"]["currency"] = json!("GBP"),
        "currency_mismatch",
    );
    with(
        &|o| o["total"]["currency"] = json!("GBP"),
        "currency_mismatch",
    );
    with(
        &|o| o["total"]["amount_minor"] = json!(3046),
        "total_mismatch",
    );
    with(
        &|o| o["total"]["amount_minor"] = json!(2550),
        "total_mismatch",
    );
    with(&|o| o["lines"][0]["quantity"] = json!(-2), "invalid_body");
    with(&|o| o["total"]["currency"] = json!("eu"), "invalid_body");
    with(
        &|o| {
            o.as_object_mut().map(|m| m.remove("charge_id"));
        },
        "invalid_body",
    );
    for (body, code) in cases {
        let resp = app.place(&body).await;
        assert_eq!(resp.status(), 422, "{code}: {body}");
        assert_eq!(error(resp).await.0, code, "{body}");
    }
    // Nothing was recorded.
    assert_eq!(app.get("/orders/o-bad").await.status(), 404);
}

#[tokio::test]
async fn bodies_that_are_not_json_are_refused_with_a_json_error() {
    let app = spawn_app().await;
    let url = format!("{}/orders", app.address);
    let resp = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"order_id\":")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 400);
    assert_eq!(error(resp).await.0, "malformed_json");
    let resp = app
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .body(order("o-1").to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 415);
    assert_eq!(error(resp).await.0, "unsupported_media_type");
}

#[tokio::test]
async fn unknown_or_malformed_order_ids_are_a_4xx() {
    let app = spawn_app().await;
    let long = format!("/orders/{}", "x".repeat(65));
    for (path, status, code) in [
        ("/orders/nope", 404, "order_not_found"),
        ("/orders/bad.id", 400, "invalid_order_id"),
        (long.as_str(), 400, "invalid_order_id"),
        ("/orders/a/b", 404, "not_found"),
    ] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(error(resp).await.0, code, "{path}");
    }
}

#[tokio::test]
async fn the_summary_counts_orders_units_and_revenue_once_per_order() {
    let app = spawn_app().await;
    let empty: Value = app
        .get("/orders/summary")
        .await
        .json()
        .await
        .expect("summary");
    assert_eq!(empty, json!({"orders": 0, "units": 0, "revenue": []}));
    for id in ["s-1", "s-2", "s-1"] {
        assert!(app.place(&order(id)).await.status().is_success());
    }
    let resp = app.get("/orders/summary").await;
    assert_eq!(resp.status(), 200);
    let summary: Value = resp.json().await.expect("summary");
    assert_eq!(
        summary,
        json!({"orders": 2, "units": 6, "revenue": [{"amount_minor": 6090, "currency": "EUR"}]})
    );
}
