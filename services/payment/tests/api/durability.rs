use apiary_wire::shop::{Charge, Ledger, VoidOutcome, VoidResult};

use crate::helpers::{charge_body, error_of, new_key, spawn_app, spawn_in};

#[tokio::test]
async fn a_restart_keeps_the_ledger_the_voids_and_the_tombstones() {
    let (app, dir) = spawn_app().await;
    let kept = new_key();
    let voided = new_key();
    let tombstoned = new_key();
    let charge: Charge = app
        .charge(&charge_body(&kept, "4242424242424242", 1234))
        .await
        .json()
        .await
        .expect("charge");
    assert_eq!(
        app.charge(&charge_body(&voided, "4242424242424242", 99))
            .await
            .status(),
        201
    );
    app.void(&voided).await;
    app.void(&tombstoned).await;
    let before: Ledger = app.get("/ledger").await.json().await.expect("ledger");
    app.stop().await;

    let app = spawn_in(dir.path()).await;
    let after: Ledger = app.get("/ledger").await.json().await.expect("ledger");
    assert_eq!(after, before);
    assert_eq!(after.charges.len(), 2);
    // The recorded answers still hold.
    let resp = app
        .charge(&charge_body(&kept, "4242424242424242", 1234))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Charge>().await.expect("charge"), charge);
    let resp = app
        .charge(&charge_body(&tombstoned, "4242424242424242", 5))
        .await;
    assert_eq!(error_of(resp).await.0, "charge_voided");
    let again: VoidResult = app.void(&voided).await.json().await.expect("void");
    assert_eq!(again.outcome, VoidOutcome::AlreadyVoided);
}

#[tokio::test]
async fn the_card_number_is_nowhere_in_the_database_or_the_metrics() {
    let (app, dir) = spawn_app().await;
    // A number used by no other test, so /metrics (shared by the test binary) is a fair check.
    let number = "4916338506082832";
    let cvc = "8317";
    let mut body = charge_body(&new_key(), number, 4711);
    body["card"]["cvc"] = cvc.into();
    let resp = app.charge(&body).await;
    assert_eq!(resp.status(), 201);
    let text = resp.text().await.expect("body");
    assert!(!text.contains(number) && !text.contains(cvc), "{text}");
    // A decline and a malformed card with the same digits.
    let mut expired = charge_body(&new_key(), number, 4711);
    expired["card"]["expiry_year"] = 2001.into();
    let text = app.charge(&expired).await.text().await.expect("body");
    assert!(!text.contains(number), "{text}");
    let mut bad_cvc = charge_body(&new_key(), number, 4711);
    bad_cvc["card"]["cvc"] = "83170".into();
    let text = app.charge(&bad_cvc).await.text().await.expect("body");
    assert!(!text.contains(number) && !text.contains("83170"), "{text}");
    let ledger = app.get("/ledger").await.text().await.expect("ledger");
    assert!(ledger.contains("2832") && !ledger.contains(number));

    // The database (main file and write-ahead log) and the metrics text.
    let mut searched = 0;
    for entry in std::fs::read_dir(dir.path()).expect("data dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        searched += bytes.len();
        for needle in [number, "4916 3385 0608 2832", "4916-3385-0608-2832"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} contains the card number",
                path.display()
            );
        }
    }
    assert!(searched > 0, "nothing was written");
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("shop_payments_captured_total"),
        "{metrics}"
    );
    assert!(!metrics.contains(number));
}
