use apiary_wire::shop::{Charge, ChargeStatus};

use crate::helpers::{charge_body, error_of, new_key, spawn_app};

#[tokio::test]
async fn the_succeeding_test_cards_are_captured_with_brand_and_last4() {
    let (app, _dir) = spawn_app().await;
    for (number, brand, last4) in [
        ("4242424242424242", "visa", "4242"),
        ("5555555555554444", "mastercard", "4444"),
        ("378282246310005", "amex", "0005"),
        ("2223 0031 2200 3222", "mastercard", "3222"),
        ("6011-1111-1111-1117", "other", "1117"),
    ] {
        let key = new_key();
        let resp = app.charge(&charge_body(&key, number, 1999)).await;
        assert_eq!(resp.status(), 201, "{number}");
        let charge: Charge = resp.json().await.expect("charge");
        assert!(charge.charge_id.starts_with("ch_"), "{}", charge.charge_id);
        assert_eq!(charge.idempotency_key, key);
        assert_eq!(charge.status, ChargeStatus::Captured);
        assert_eq!(charge.amount.amount_minor, 1999);
        assert_eq!(charge.amount.currency.as_str(), "EUR");
        assert_eq!(
            (charge.card_brand.as_str(), charge.card_last4.as_str()),
            (brand, last4)
        );
        assert!(charge.created_at_ms > 0);
    }
}

#[tokio::test]
async fn every_decline_rule_answers_402_with_its_reason() {
    let (app, _dir) = spawn_app().await;
    let mut expired = charge_body(&new_key(), "4242424242424242", 1000);
    expired["card"]["expiry_month"] = 1.into();
    expired["card"]["expiry_year"] = 2020.into();
    let cases = [
        (
            charge_body(&new_key(), "4000000000000002", 1000),
            "card_declined",
        ),
        (
            charge_body(&new_key(), "4000000000009995", 1000),
            "insufficient_funds",
        ),
        (
            charge_body(&new_key(), "4000000000000069", 1000),
            "expired_card",
        ),
        (
            charge_body(&new_key(), "4000000000000127", 1000),
            "incorrect_cvc",
        ),
        (
            charge_body(&new_key(), "4100000000000019", 1000),
            "fraud_suspected",
        ),
        (expired, "expired_card"),
        (
            charge_body(&new_key(), "4242424242424242", 500_001),
            "amount_limit_exceeded",
        ),
    ];
    for (body, reason) in cases {
        let resp = app.charge(&body).await;
        assert_eq!(resp.status(), 402, "{reason}");
        let (code, message) = error_of(resp).await;
        assert_eq!(code, reason);
        assert!(!message.contains(body["card"]["number"].as_str().expect("number")));
    }
    // The limit itself is allowed.
    let resp = app
        .charge(&charge_body(&new_key(), "4242424242424242", 500_000))
        .await;
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn the_same_request_replays_the_recorded_answer() {
    let (app, _dir) = spawn_app().await;
    let key = new_key();
    let body = charge_body(&key, "4242424242424242", 2500);
    let first: Charge = app.charge(&body).await.json().await.expect("charge");
    // Formatting of the number may differ on a retry; the card is the same.
    let mut retry = body.clone();
    retry["card"]["number"] = "4242 4242 4242 4242".into();
    let resp = app.charge(&retry).await;
    assert_eq!(resp.status(), 200);
    let replayed: Charge = resp.json().await.expect("charge");
    assert_eq!(replayed, first);

    let declined_key = new_key();
    let declined = charge_body(&declined_key, "4000000000009995", 2500);
    for _ in 0..2 {
        let resp = app.charge(&declined).await;
        assert_eq!(resp.status(), 402);
        assert_eq!(error_of(resp).await.0, "insufficient_funds");
    }
    let ledger: apiary_wire::shop::Ledger = app.get("/ledger").await.json().await.expect("ledger");
    assert_eq!(ledger.charges, vec![first]);
}

#[tokio::test]
async fn the_same_key_with_another_amount_currency_or_card_conflicts() {
    let (app, _dir) = spawn_app().await;
    let key = new_key();
    let body = charge_body(&key, "4242424242424242", 2500);
    assert_eq!(app.charge(&body).await.status(), 201);
    let mut other_currency = body.clone();
    other_currency["amount"]["currency"] = "USD".into();
    for other in [
        charge_body(&key, "4242424242424242", 2501),
        charge_body(&key, "5555555555554444", 2500),
        other_currency,
    ] {
        let resp = app.charge(&other).await;
        assert_eq!(resp.status(), 409);
        assert_eq!(error_of(resp).await.0, "idempotency_conflict");
    }
    // A declined key conflicts the same way.
    let declined = new_key();
    assert_eq!(
        app.charge(&charge_body(&declined, "4000000000000002", 100))
            .await
            .status(),
        402
    );
    let resp = app
        .charge(&charge_body(&declined, "4000000000000002", 200))
        .await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error_of(resp).await.0, "idempotency_conflict");
}

#[tokio::test]
async fn concurrent_requests_with_one_key_make_one_charge() {
    let (app, _dir) = spawn_app().await;
    let body = charge_body(&new_key(), "4242424242424242", 700);
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (http, url, body) = (
                app.http.clone(),
                format!("{}/charges", app.address),
                body.clone(),
            );
            tokio::spawn(async move { http.post(url).json(&body).send().await.expect("request") })
        })
        .collect();
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    for handle in handles {
        let resp = handle.await.expect("task");
        let status = resp.status().as_u16();
        assert!(status == 201 || status == 200, "{status}");
        created += usize::from(status == 201);
        let charge: Charge = resp.json().await.expect("charge");
        ids.insert(charge.charge_id);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
}
