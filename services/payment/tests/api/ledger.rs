use apiary_wire::shop::{Charge, ChargeStatus, Ledger};

use crate::helpers::{charge_body, error_of, new_key, spawn_app};

#[tokio::test]
async fn the_ledger_lists_charges_oldest_first_and_filters_by_status() {
    let (app, _dir) = spawn_app().await;
    let mut made = Vec::new();
    for amount in [100, 200, 300] {
        let key = new_key();
        let charge: Charge = app
            .charge(&charge_body(&key, "5555555555554444", amount))
            .await
            .json()
            .await
            .expect("charge");
        made.push(charge);
    }
    // A decline and a tombstone are not charges.
    assert_eq!(
        app.charge(&charge_body(&new_key(), "4000000000000002", 1))
            .await
            .status(),
        402
    );
    assert_eq!(app.void(&new_key()).await.status(), 200);
    assert_eq!(app.void(&made[1].idempotency_key).await.status(), 200);

    let all: Ledger = app.get("/ledger").await.json().await.expect("ledger");
    let amounts: Vec<i64> = all.charges.iter().map(|c| c.amount.amount_minor).collect();
    assert_eq!(amounts, [100, 200, 300]);
    assert_eq!(all.charges[1].status, ChargeStatus::Voided);

    let captured: Ledger = app
        .get("/ledger?status=captured")
        .await
        .json()
        .await
        .expect("ledger");
    let ids: Vec<&str> = captured
        .charges
        .iter()
        .map(|c| c.charge_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [made[0].charge_id.as_str(), made[2].charge_id.as_str()]
    );
    let voided: Ledger = app
        .get("/ledger?status=voided")
        .await
        .json()
        .await
        .expect("ledger");
    assert_eq!(voided.charges.len(), 1);
    assert_eq!(voided.charges[0].charge_id, made[1].charge_id);

    let resp = app.get("/ledger?status=declined").await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_of(resp).await.0, "invalid_status");

    // A page at a time: the cursor of one page starts the next; the last page has none.
    let first: Ledger = app.get("/ledger?limit=2").await.json().await.expect("page");
    assert_eq!(first.charges.len(), 2);
    let cursor = first.last_seq.expect("a cursor");
    let rest: Ledger = app
        .get(&format!("/ledger?limit=2&after_seq={cursor}"))
        .await
        .json()
        .await
        .expect("page");
    assert_eq!(rest.charges.len(), 1);
    assert_eq!(rest.charges[0].amount.amount_minor, 300);
    let end: Ledger = app
        .get(&format!(
            "/ledger?after_seq={}",
            rest.last_seq.expect("cursor")
        ))
        .await
        .json()
        .await
        .expect("page");
    assert!(end.charges.is_empty() && end.last_seq.is_none());
    for (query, code) in [
        ("limit=0", "invalid_limit"),
        ("limit=1001", "invalid_limit"),
        ("limit=x", "invalid_limit"),
        ("after_seq=-1", "invalid_cursor"),
        ("after_seq=1e3", "invalid_cursor"),
    ] {
        let resp = app.get(&format!("/ledger?{query}")).await;
        assert_eq!(resp.status(), 400, "{query}");
        assert_eq!(error_of(resp).await.0, code, "{query}");
    }
}

#[tokio::test]
async fn a_charge_is_served_by_id_with_its_current_status() {
    let (app, _dir) = spawn_app().await;
    let key = new_key();
    let charge: Charge = app
        .charge(&charge_body(&key, "378282246310005", 4200))
        .await
        .json()
        .await
        .expect("charge");
    let path = format!("/charges/{}", charge.charge_id);
    let fetched: Charge = app.get(&path).await.json().await.expect("charge");
    assert_eq!(fetched, charge);
    app.void(&key).await;
    let fetched: Charge = app.get(&path).await.json().await.expect("charge");
    assert_eq!(fetched.status, ChargeStatus::Voided);

    for missing in ["/charges/ch_nope", &format!("/charges/{}", "x".repeat(200))] {
        let resp = app.get(missing).await;
        assert_eq!(resp.status(), 404, "{missing}");
        assert_eq!(error_of(resp).await.0, "charge_not_found");
    }
}
