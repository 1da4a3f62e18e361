use apiary_wire::shop::{Charge, VoidOutcome, VoidResult};

use crate::helpers::{charge_body, error_of, new_key, spawn_app};

#[tokio::test]
async fn a_captured_charge_is_voided_once_and_its_key_refused_afterwards() {
    let (app, _dir) = spawn_app().await;
    let key = new_key();
    let body = charge_body(&key, "4242424242424242", 1500);
    let charge: Charge = app.charge(&body).await.json().await.expect("charge");

    let resp = app.void(&key).await;
    assert_eq!(resp.status(), 200);
    let first: VoidResult = resp.json().await.expect("void");
    assert_eq!(first.outcome, VoidOutcome::Voided);
    assert_eq!(first.idempotency_key, key);
    assert_eq!(first.charge_id.as_deref(), Some(charge.charge_id.as_str()));

    let again: VoidResult = app.void(&key).await.json().await.expect("void");
    assert_eq!(again.outcome, VoidOutcome::AlreadyVoided);
    assert_eq!(again.charge_id, first.charge_id);

    let resp = app.charge(&body).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error_of(resp).await.0, "charge_voided");
}

#[tokio::test]
async fn voiding_an_unknown_key_tombstones_it() {
    let (app, _dir) = spawn_app().await;
    let key = new_key();
    let resp = app.void(&key).await;
    assert_eq!(resp.status(), 200);
    let result: VoidResult = resp.json().await.expect("void");
    assert_eq!(result.outcome, VoidOutcome::NothingToVoid);
    assert_eq!(result.charge_id, None);
    // The late charge (the one whose call timed out) is refused, whatever it carries.
    for amount in [1500, 99] {
        let resp = app
            .charge(&charge_body(&key, "4242424242424242", amount))
            .await;
        assert_eq!(resp.status(), 409);
        assert_eq!(error_of(resp).await.0, "charge_voided");
    }
    let again: VoidResult = app.void(&key).await.json().await.expect("void");
    assert_eq!(again.outcome, VoidOutcome::NothingToVoid);
    let ledger: apiary_wire::shop::Ledger = app.get("/ledger").await.json().await.expect("ledger");
    assert!(ledger.charges.is_empty());
}

#[tokio::test]
async fn voiding_a_declined_key_tombstones_it() {
    let (app, _dir) = spawn_app().await;
    let key = new_key();
    let body = charge_body(&key, "4000000000000002", 1500);
    assert_eq!(app.charge(&body).await.status(), 402);
    let result: VoidResult = app.void(&key).await.json().await.expect("void");
    assert_eq!(result.outcome, VoidOutcome::NothingToVoid);
    let resp = app.charge(&body).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error_of(resp).await.0, "charge_voided");
}

#[tokio::test]
async fn a_void_body_of_the_wrong_shape_is_a_422() {
    let (app, _dir) = spawn_app().await;
    for body in [serde_json::json!({ "key": "x" }), serde_json::json!(["x"])] {
        let resp = app.post_json("/voids", &body).await;
        assert_eq!(resp.status(), 422, "{body}");
        assert_eq!(error_of(resp).await.0, "invalid_body");
    }
}
