use crate::helpers::{error_code, lines, spawn_app};

#[tokio::test]
async fn malformed_ids_are_400_with_a_json_error() {
    let app = spawn_app().await;
    let long = "x".repeat(65);
    for (resp, code) in [
        (app.get("/carts/bad.id").await, "invalid_cart_id"),
        (app.get(&format!("/carts/{long}")).await, "invalid_cart_id"),
        (app.add("bad%20id", "BK-0001", 1).await, "invalid_cart_id"),
        (app.add("c1", "XX-0001", 1).await, "invalid_product_id"),
        (app.add("c1", "bk-0001", 1).await, "invalid_product_id"),
        (app.set("c1", "BK-1", 1).await, "invalid_product_id"),
        (
            app.delete("/carts/c1/items/nope").await,
            "invalid_product_id",
        ),
        (app.delete("/carts/a%2Fb").await, "invalid_cart_id"),
    ] {
        assert_eq!(resp.status(), 400, "{code}");
        assert_eq!(error_code(resp).await, code);
    }
}

#[tokio::test]
async fn quantities_out_of_range_are_422() {
    let app = spawn_app().await;
    for quantity in [0, 100] {
        let resp = app.add("c1", "BK-0001", quantity).await;
        assert_eq!(resp.status(), 422, "{quantity}");
        assert_eq!(error_code(resp).await, "invalid_quantity");
    }
    app.add("c1", "BK-0001", 60).await;
    let resp = app.add("c1", "BK-0001", 40).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_code(resp).await, "quantity_limit");
    let resp = app.set("c1", "BK-0001", 100).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_code(resp).await, "quantity_limit");
    // Nothing changed by the refusals.
    assert_eq!(
        lines(app.get("/carts/c1").await).await,
        vec![("BK-0001".to_owned(), 60)]
    );
}

#[tokio::test]
async fn a_cart_holds_at_most_50_lines() {
    let app = spawn_app().await;
    for n in 1..=50 {
        assert_eq!(
            app.add("big", &format!("MU-{n:04}"), 1).await.status(),
            200,
            "{n}"
        );
    }
    let resp = app.add("big", "MU-0051", 1).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_code(resp).await, "cart_full");
}

#[tokio::test]
async fn setting_a_line_that_is_not_there_is_404() {
    let app = spawn_app().await;
    let resp = app.set("c1", "BK-0001", 2).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(error_code(resp).await, "line_not_found");
    app.add("c1", "BK-0002", 1).await;
    let resp = app.set("c1", "BK-0001", 2).await;
    assert_eq!(error_code(resp).await, "line_not_found");
}

#[tokio::test]
async fn bad_bodies_get_json_errors_never_a_5xx() {
    let app = spawn_app().await;
    let url = app.url("/carts/c1/items");
    let cases = [
        ("application/json", "{", 400, "malformed_json"),
        (
            "application/json",
            r#"{"product_id":"BK-0001","quantity":-1}"#,
            422,
            "invalid_body",
        ),
        (
            "application/json",
            r#"{"product_id":"BK-0001"}"#,
            422,
            "invalid_body",
        ),
        (
            "application/json",
            r#"{"product_id":"BK-0001","quantity":"two"}"#,
            422,
            "invalid_body",
        ),
        (
            "text/plain",
            r#"{"product_id":"BK-0001","quantity":1}"#,
            415,
            "unsupported_media_type",
        ),
    ];
    for (content_type, body, status, code) in cases {
        let resp = app
            .http
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), status, "{body}");
        assert_eq!(error_code(resp).await, code, "{body}");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let app = spawn_app().await;
    let resp = app.get("/carts").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(error_code(resp).await, "not_found");
    let resp = app
        .http
        .patch(app.url("/carts/c1"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 405);
    assert_eq!(error_code(resp).await, "method_not_allowed");
}
