//! The HTML shop: pages, the cart cookie, forms, the cross-site guard.

use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::checkout::{checkout_result, order_json};
use crate::helpers::{
    FormExt, TestApp, cart_json, error_json, product_json, product_titled, spawn_app,
};

const CART: &str = "7d0a3c52-8f1e-4c4b-9a51-2b7c9e0f6d13";

/// The footer's `trace <32 hex>`, which a person pastes into the dashboard.
fn trace_id(html: &str) -> Option<&str> {
    let start = html.find("trace ")? + "trace ".len();
    let id = html.get(start..start + 32)?;
    id.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        .then_some(id)
}

async fn page(app: &TestApp, url: &str, status: u16) -> String {
    let resp = app.get(url).await;
    assert_eq!(resp.status(), status, "{url}");
    assert!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html")),
        "{url}"
    );
    let html = resp.text().await.expect("html");
    assert!(trace_id(&html).is_some(), "{url}: no trace id in {html}");
    html
}

async fn form_post(
    app: &TestApp,
    url: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut request = app.http.post(app.url(url)).form_of(form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("apiary_cart={cookie}"));
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn the_home_page_lists_categories_and_products() {
    let app = spawn_app().await;
    Mock::given(path("/categories"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [{"name": "books", "count": 120}, {"name": "music", "count": 100}]
        })))
        .mount(&app.catalog)
        .await;
    Mock::given(path("/products"))
        .and(query_param("limit", "8"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [product_json("BK-0001")], "total": 320, "limit": 8, "offset": 0
        })))
        .mount(&app.catalog)
        .await;
    let html = page(&app, "/", 200).await;
    assert!(html.contains(r#"href="/shop/category/books""#), "{html}");
    assert!(html.contains(r#"href="/shop/products/BK-0001""#));
    assert!(html.contains(r#"action="/shop/search""#));
    assert!(!html.contains("<script"), "no JavaScript");
    let again = page(&app, "/", 200).await;
    assert_ne!(trace_id(&html), trace_id(&again), "one trace per request");
}

#[tokio::test]
async fn a_product_page_escapes_titles_and_names_the_parts_that_are_down() {
    let app = spawn_app().await;
    app.mount_product(product_titled("BK-0001", "<script>alert(1)</script>"))
        .await;
    app.mount_stock("BK-0001", 0).await;
    let html = page(&app, "/shop/products/BK-0001", 200).await;
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("Out of stock."));
    assert!(html.contains("Reviews are unavailable right now."));
    assert!(html.contains("Recommendations are unavailable right now."));
    assert!(html.contains(r#"action="/shop/cart/add""#));
}

#[tokio::test]
async fn a_whole_product_page_shows_reviews_and_recommendations() {
    let app = spawn_app().await;
    app.mount_whole_product_page("BK-0001").await;
    let html = page(&app, "/shop/products/BK-0001", 200).await;
    assert!(html.contains("In stock: 7 available."));
    assert!(html.contains("Gripping"));
    assert!(html.contains("average 4.5 of 5"));
    assert!(html.contains(r#"href="/shop/products/MU-0002""#));
}

#[tokio::test]
async fn errors_are_html_pages_with_their_status() {
    let app = spawn_app().await;
    Mock::given(path("/products/BK-9999"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(error_json("unknown_product", "no product BK-9999")),
        )
        .mount(&app.catalog)
        .await;
    let html = page(&app, "/shop/products/BK-9999", 404).await;
    assert!(html.contains("no product BK-9999"));
    page(&app, "/shop/products/%3Cx%3E", 400).await;
    page(&app, "/shop/nowhere", 404).await;
    page(&app, "/shop/category/books?page=0", 400).await;
    // The catalog is down (unmounted routes answer 404 without an error body): 502.
    page(&app, "/shop/category/books", 502).await;
}

#[tokio::test]
async fn category_and_search_pages_page_through_the_catalog() {
    let app = spawn_app().await;
    Mock::given(path("/products"))
        .and(query_param("category", "books"))
        .and(query_param("offset", "20"))
        .and(query_param("limit", "20"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [product_json("BK-0021")], "total": 45, "limit": 20, "offset": 20
        })))
        .mount(&app.catalog)
        .await;
    let html = page(&app, "/shop/category/books?page=2", 200).await;
    assert!(
        html.contains(r#"href="/shop/category/books?page=3""#),
        "{html}"
    );
    assert!(html.contains(r#"href="/shop/category/books""#));

    Mock::given(path("/products"))
        .and(query_param("q", "<stoker>"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [product_json("BK-0006")], "total": 1, "limit": 20, "offset": 0
        })))
        .mount(&app.catalog)
        .await;
    let html = page(&app, "/shop/search?q=%3Cstoker%3E", 200).await;
    assert!(html.contains("Search: &lt;stoker&gt;"), "{html}");
    assert!(!html.contains("<stoker>"));
    assert!(!html.contains("Next page"));
    let html = page(&app, "/shop/search?q=", 200).await;
    assert!(html.contains("Type a title"));
}

#[tokio::test]
async fn adding_to_the_cart_sets_the_cookie_and_redirects_to_the_cart() {
    let app = spawn_app().await;
    app.mount_product(product_json("BK-0001")).await;
    app.mount_stock("BK-0001", 5).await;
    Mock::given(method("POST"))
        .and(body_json(json!({"product_id": "BK-0001", "quantity": 2})))
        .respond_with(ResponseTemplate::new(200).set_body_json(cart_json(CART, &[("BK-0001", 2)])))
        .mount(&app.cart)
        .await;
    app.mount_products_by_ids("BK-0001", vec![product_json("BK-0001")])
        .await;
    let resp = form_post(
        &app,
        "/shop/cart/add",
        &[("product_id", "BK-0001"), ("quantity", "2")],
        None,
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/shop/cart")
    );
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie set")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    let cart_id = cookie
        .strip_prefix("apiary_cart=")
        .and_then(|rest| rest.split(';').next())
        .expect("value")
        .to_owned();
    let received = app.cart.received_requests().await.unwrap_or_default();
    assert_eq!(received[0].url.path(), format!("/carts/{cart_id}/items"));

    // The next add goes to the same cart and sets no new cookie.
    let resp = form_post(
        &app,
        "/shop/cart/add",
        &[("product_id", "BK-0001"), ("quantity", "2")],
        Some(&cart_id),
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert!(resp.headers().get("set-cookie").is_none());
    let received = app.cart.received_requests().await.unwrap_or_default();
    assert_eq!(received[1].url.path(), format!("/carts/{cart_id}/items"));
}

#[tokio::test]
async fn a_bad_quantity_in_the_form_is_a_422_page() {
    let app = spawn_app().await;
    for quantity in ["0", "abc", "100"] {
        let resp = form_post(
            &app,
            "/shop/cart/add",
            &[("product_id", "BK-0001"), ("quantity", quantity)],
            None,
        )
        .await;
        assert_eq!(resp.status(), 422, "{quantity}");
        assert!(resp.headers().get("set-cookie").is_none());
    }
    let resp = form_post(&app, "/shop/cart/add", &[("quantity", "1")], None).await;
    assert_eq!(resp.status(), 422, "missing field");
    assert!(
        resp.text()
            .await
            .expect("html")
            .contains("Something went wrong")
    );
    assert_eq!(TestApp::received(&app.catalog).await, 0);
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = spawn_app().await;
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.example"),
        ("origin", "null"),
    ] {
        for url in ["/shop/cart/add", "/shop/cart/update", "/shop/checkout"] {
            let resp = app
                .http
                .post(app.url(url))
                .header(header, value)
                .form_of(&[("product_id", "BK-0001"), ("quantity", "1")])
                .send()
                .await
                .expect("request");
            assert_eq!(resp.status(), 403, "{url} {header}: {value}");
        }
    }
    for server in [&app.catalog, &app.cart, &app.checkout] {
        assert_eq!(TestApp::received(server).await, 0);
    }
    // The shop's own origin passes the guard (and then fails on the form, not on the guard).
    let resp = app
        .http
        .post(app.url("/shop/cart/add"))
        .header("origin", app.address.clone())
        .header("sec-fetch-site", "same-origin")
        .form_of(&[("quantity", "1")])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 422);
}

async fn mount_cart(app: &TestApp) {
    Mock::given(method("GET"))
        .and(path(format!("/carts/{CART}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(cart_json(CART, &[("BK-0001", 2)])))
        .mount(&app.cart)
        .await;
    app.mount_products_by_ids("BK-0001", vec![product_titled("BK-0001", "Dracula & Co")])
        .await;
}

#[tokio::test]
async fn the_cart_page_has_quantity_forms_a_subtotal_and_a_checkout_form() {
    let app = spawn_app().await;
    mount_cart(&app).await;
    let resp = app
        .http
        .get(app.url("/shop/cart"))
        .header("cookie", format!("apiary_cart={CART}"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.expect("html");
    assert!(trace_id(&html).is_some());
    assert!(html.contains("Dracula &amp; Co"));
    assert!(html.contains("21.98 EUR"), "subtotal: {html}");
    assert!(html.contains(r#"action="/shop/cart/update""#));
    assert!(html.contains(r#"name="card_number""#) && html.contains(r#"name="country""#));
    assert!(html.contains(r#"name="checkout_id""#));
    let empty = page(&app, "/shop/cart", 200).await;
    assert!(empty.contains("Your cart is empty"));
}

#[tokio::test]
async fn updating_and_removing_lines_redirect_to_the_cart() {
    let app = spawn_app().await;
    app.mount_stock("BK-0001", 9).await;
    mount_cart(&app).await;
    Mock::given(method("PUT"))
        .and(path(format!("/carts/{CART}/items/BK-0001")))
        .and(body_json(json!({"quantity": 3})))
        .respond_with(ResponseTemplate::new(200).set_body_json(cart_json(CART, &[("BK-0001", 3)])))
        .expect(1)
        .mount(&app.cart)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/carts/{CART}/items/BK-0001")))
        .respond_with(ResponseTemplate::new(200).set_body_json(cart_json(CART, &[])))
        .expect(1)
        .mount(&app.cart)
        .await;
    for quantity in ["3", "0"] {
        let resp = form_post(
            &app,
            "/shop/cart/update",
            &[("product_id", "BK-0001"), ("quantity", quantity)],
            Some(CART),
        )
        .await;
        assert_eq!(resp.status(), 303, "{quantity}");
    }
}

fn checkout_form(checkout_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("checkout_id", checkout_id.to_owned()),
        ("card_number", "4242 4242 4242 4242".to_owned()),
        ("expiry_month", "12".to_owned()),
        ("expiry_year", "2030".to_owned()),
        ("cvc", "123".to_owned()),
        ("country", "de".to_owned()),
    ]
}

#[tokio::test]
async fn a_successful_checkout_redirects_to_the_order_page() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path("/checkouts"))
        .and(body_json(json!({
            "checkout_id": "chk-1", "cart_id": CART,
            "card": {"number": "4242 4242 4242 4242", "expiry_month": 12, "expiry_year": 2030, "cvc": "123"},
            "shipping": {"country": "DE"}
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(checkout_result("chk-1")))
        .expect(1)
        .mount(&app.checkout)
        .await;
    Mock::given(path("/orders/chk-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_json("chk-1")))
        .mount(&app.orders)
        .await;
    let resp = app
        .http
        .post(app.url("/shop/checkout"))
        .header("cookie", format!("apiary_cart={CART}"))
        .form_of(&checkout_form("chk-1"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/shop/orders/chk-1")
    );
    let html = page(&app, "/shop/orders/chk-1", 200).await;
    assert!(html.contains("&lt;i&gt;Dracula&lt;/i&gt;"), "{html}");
    assert!(html.contains("26.97 EUR"));
}

#[tokio::test]
async fn a_declined_checkout_shows_the_cart_again_with_the_reason() {
    let app = spawn_app().await;
    mount_cart(&app).await;
    Mock::given(path("/checkouts"))
        .respond_with(ResponseTemplate::new(402).set_body_json(error_json(
            "insufficient_funds",
            "the card has insufficient funds",
        )))
        .mount(&app.checkout)
        .await;
    let resp = app
        .http
        .post(app.url("/shop/checkout"))
        .header("cookie", format!("apiary_cart={CART}"))
        .form_of(&checkout_form("chk-2"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 402);
    let html = resp.text().await.expect("html");
    assert!(
        html.contains("Your card was declined (insufficient_funds)"),
        "{html}"
    );
    assert!(html.contains("Dracula &amp; Co"), "the cart is shown again");
    assert!(!html.contains("4242"), "the card number is not echoed");
    assert!(html.contains(r#"value="12""#), "expiry kept");
    assert!(
        !html.contains(r#"value="chk-2""#),
        "a fresh checkout id for the next try"
    );
}

#[tokio::test]
async fn a_checkout_without_a_cart_or_with_a_down_checkout_says_so() {
    let app =
        crate::helpers::spawn_with(|c| c.checkout.url = crate::helpers::unreachable_url()).await;
    let resp = app
        .http
        .post(app.url("/shop/checkout"))
        .form_of(&checkout_form("chk-3"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 409);
    assert!(
        resp.text()
            .await
            .expect("html")
            .contains("Your cart is empty")
    );
    mount_cart(&app).await;
    let resp = app
        .http
        .post(app.url("/shop/checkout"))
        .header("cookie", format!("apiary_cart={CART}"))
        .form_of(&checkout_form("chk-3"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 503);
    let html = resp.text().await.expect("html");
    assert!(html.contains("The order was not placed"), "{html}");
    let resp = app
        .http
        .post(app.url("/shop/checkout"))
        .header("cookie", format!("apiary_cart={CART}"))
        .form_of(&[
            ("checkout_id", "chk-4"),
            ("card_number", "4242"),
            ("expiry_month", "December"),
            ("expiry_year", "2030"),
            ("cvc", "1"),
            ("country", "DE"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 422);
}
