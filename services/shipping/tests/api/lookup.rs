use std::time::Duration;

use apiary_wire::shop::Quote;
use shipping::Config;

use crate::helpers::{error_code, request, spawn_app, spawn_with};

#[tokio::test]
async fn an_issued_quote_can_be_looked_up() {
    let app = spawn_app().await;
    let issued: Quote = app
        .quote(request("AT", &[("VI-0001", 2)]))
        .await
        .json()
        .await
        .expect("quote");
    let resp = app.get(&format!("/quotes/{}", issued.quote_id)).await;
    assert_eq!(resp.status(), 200);
    let found: Quote = resp.json().await.expect("quote");
    assert_eq!(found, issued);
}

#[tokio::test]
async fn unknown_quotes_are_404() {
    let app = spawn_app().await;
    for id in [
        "q_3f2c0e8e-1e4b-4c2b-9a7a-0d7c1f0f9b11",
        "not-a-quote",
        "q_..%2F..",
    ] {
        let resp = app.get(&format!("/quotes/{id}")).await;
        assert_eq!(resp.status(), 404, "{id}");
        assert_eq!(error_code(resp).await, "quote_not_found", "{id}");
    }
}

#[tokio::test]
async fn an_expired_quote_is_410() {
    let app = spawn_with(|c| Config {
        quote_ttl: Duration::from_millis(200),
        ..c
    })
    .await;
    let issued: Quote = app
        .quote(request("DE", &[("BK-0001", 1)]))
        .await
        .json()
        .await
        .expect("quote");
    let path = format!("/quotes/{}", issued.quote_id);
    assert_eq!(app.get(&path).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let resp = app.get(&path).await;
    assert_eq!(resp.status(), 410);
    assert_eq!(error_code(resp).await, "quote_expired");
}
