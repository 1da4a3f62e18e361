use crate::helpers::{error_code, request, spawn_app};

#[tokio::test]
async fn countries_are_checked_for_form_then_service() {
    let app = spawn_app().await;
    for (country, code) in [
        ("de", "invalid_country"),
        ("DEU", "invalid_country"),
        ("", "invalid_country"),
        ("D1", "invalid_country"),
        ("BR", "unsupported_destination"),
        ("XX", "unsupported_destination"),
    ] {
        let resp = app.quote(request(country, &[("BK-0001", 1)])).await;
        assert_eq!(resp.status(), 422, "{country}");
        assert_eq!(error_code(resp).await, code, "{country}");
    }
}

#[tokio::test]
async fn items_are_checked() {
    let app = spawn_app().await;
    let fifty_one: Vec<(String, u32)> = (1..=51).map(|n| (format!("BK-{n:04}"), 1)).collect();
    let fifty_one: Vec<(&str, u32)> = fifty_one.iter().map(|(p, q)| (p.as_str(), *q)).collect();
    for (lines, status, code) in [
        (vec![], 422, "invalid_items"),
        (fifty_one.clone(), 422, "invalid_items"),
        (vec![("BK-0001", 0)], 422, "invalid_quantity"),
        (vec![("BK-0001", 100)], 422, "invalid_quantity"),
        (
            vec![("BK-0001", 1), ("GAME-1", 1)],
            400,
            "invalid_product_id",
        ),
        (vec![("bk-0001", 1)], 400, "invalid_product_id"),
    ] {
        let resp = app.quote(request("DE", &lines)).await;
        assert_eq!(resp.status(), status, "{lines:?}");
        assert_eq!(error_code(resp).await, code, "{lines:?}");
    }
    assert_eq!(
        app.quote(request("DE", &fifty_one[..50])).await.status(),
        201
    );
}

#[tokio::test]
async fn bad_bodies_get_json_errors_never_a_5xx() {
    let app = spawn_app().await;
    let url = format!("{}/quotes", app.address);
    for (content_type, body, status, code) in [
        ("application/json", "{", 400, "malformed_json"),
        (
            "application/json",
            r#"{"country":"DE"}"#,
            422,
            "invalid_body",
        ),
        (
            "application/json",
            r#"{"country":"DE","items":[{"product_id":"BK-0001","quantity":-1}]}"#,
            422,
            "invalid_body",
        ),
        (
            "text/plain",
            r#"{"country":"DE","items":[]}"#,
            415,
            "unsupported_media_type",
        ),
    ] {
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
    let resp = app.http.delete(&url).send().await.expect("request");
    assert_eq!(resp.status(), 405);
    assert_eq!(error_code(resp).await, "method_not_allowed");
}
