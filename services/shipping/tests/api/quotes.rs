use apiary_wire::shop::Quote;

use crate::helpers::{request, spawn_app};

#[tokio::test]
async fn a_domestic_quote_is_priced_by_units() {
    let app = spawn_app().await;
    let resp = app
        .quote(request("DE", &[("BK-0001", 2), ("VI-0003", 1)]))
        .await;
    assert_eq!(resp.status(), 201);
    let quote: Quote = resp.json().await.expect("quote");
    assert!(quote.quote_id.starts_with("q_"));
    assert_eq!(quote.country, "DE");
    assert_eq!(quote.amount.amount_minor, 490 + 2 * 50);
    assert_eq!(quote.amount.currency.as_str(), "EUR");
    assert_eq!((quote.carrier.as_str(), quote.eta_days), ("dhl-paket", 2));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    // Valid for the default 30 minutes.
    assert!((now_ms + 1_790_000..=now_ms + 1_810_000).contains(&quote.expires_at_ms));
}

#[tokio::test]
async fn zones_set_price_carrier_and_eta() {
    let app = spawn_app().await;
    let mut seen = Vec::new();
    for country in ["DE", "FR", "US"] {
        let quote: Quote = app
            .quote(request(country, &[("MU-0001", 1)]))
            .await
            .json()
            .await
            .expect("quote");
        seen.push((quote.amount.amount_minor, quote.carrier, quote.eta_days));
    }
    assert_eq!(
        seen,
        vec![
            (490, "dhl-paket".to_owned(), 2),
            (890, "dpd-europe".to_owned(), 4),
            (1990, "ups-worldwide".to_owned(), 7),
        ]
    );
}

#[tokio::test]
async fn the_same_request_gets_the_same_price_and_a_new_id() {
    let app = spawn_app().await;
    let body = request("NL", &[("BK-0001", 3), ("BK-0002", 4)]);
    let a: Quote = app.quote(body.clone()).await.json().await.expect("quote");
    let b: Quote = app.quote(body).await.json().await.expect("quote");
    assert_ne!(a.quote_id, b.quote_id);
    assert_eq!(
        (a.amount, a.carrier, a.eta_days),
        (b.amount, b.carrier, b.eta_days)
    );
    assert_eq!(a.amount.amount_minor, 890 + 6 * 100);
}
