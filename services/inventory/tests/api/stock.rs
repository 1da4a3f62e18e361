use apiary_wire::shop::{StockLevel, StockLevels};

use crate::helpers::{error, product_with_stock, spawn_app, stocked_product};

#[tokio::test]
async fn one_product_shows_its_seeded_stock() {
    let app = spawn_app().await;
    let (id, units) = stocked_product(5);
    let resp = app.get(&format!("/stock/{id}")).await;
    assert_eq!(resp.status(), 200);
    let level: StockLevel = resp.json().await.expect("level");
    assert_eq!(
        level,
        StockLevel {
            product_id: id.to_owned(),
            available: units,
            reserved: 0,
            sold: 0
        }
    );
    let sold_out = product_with_stock(0);
    assert_eq!(app.level(sold_out).await, (0, 0, 0));
}

#[tokio::test]
async fn listing_without_ids_covers_every_seed_product_in_order() {
    let app = spawn_app().await;
    let resp = app.get("/stock").await;
    assert_eq!(resp.status(), 200);
    let levels: StockLevels = resp.json().await.expect("levels");
    let seed = apiary_seed::products();
    assert_eq!(levels.items.len(), seed.len());
    assert!(
        levels
            .items
            .windows(2)
            .all(|w| w[0].product_id < w[1].product_id)
    );
    let total: u64 = levels.items.iter().map(|l| u64::from(l.available)).sum();
    let seeded: u64 = seed.iter().map(|p| u64::from(p.stock)).sum();
    assert_eq!(total, seeded);
}

#[tokio::test]
async fn listing_by_ids_answers_in_the_order_asked() {
    let app = spawn_app().await;
    let resp = app.get("/stock?ids=VI-0002,BK-0001,MU-0003,BK-0001").await;
    assert_eq!(resp.status(), 200);
    let levels: StockLevels = resp.json().await.expect("levels");
    let ids: Vec<&str> = levels.items.iter().map(|l| l.product_id.as_str()).collect();
    assert_eq!(ids, ["VI-0002", "BK-0001", "MU-0003"]);
}

#[tokio::test]
async fn bad_stock_requests_get_a_4xx_with_a_json_error() {
    let app = spawn_app().await;
    let hundred_and_one: Vec<String> = (1..=101).map(|i| format!("BK-{i:04}")).collect();
    let too_many = format!("/stock?ids={}", hundred_and_one.join(","));
    for (path, status, code) in [
        ("/stock/BK-9999", 404, "unknown_product"),
        ("/stock/XX-0001", 400, "invalid_product_id"),
        ("/stock/bk-0001", 400, "invalid_product_id"),
        ("/stock/BK-00001", 400, "invalid_product_id"),
        ("/stock?ids=BK-0001,nope", 400, "invalid_product_id"),
        (too_many.as_str(), 400, "invalid_ids"),
        ("/stock/BK-0001/extra", 404, "not_found"),
    ] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(error(resp).await.0, code, "{path}");
    }
}

#[tokio::test]
async fn an_empty_id_list_asks_for_no_products() {
    let app = spawn_app().await;
    for path in ["/stock?ids=", "/stock?ids=%20,%20"] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), 200, "{path}");
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["items"], serde_json::json!([]), "{path}");
    }
}

#[tokio::test]
async fn unknown_ids_in_a_listing_are_all_named() {
    let app = spawn_app().await;
    let resp = app.get("/stock?ids=BK-0001,BK-9998,VI-9999").await;
    assert_eq!(resp.status(), 404);
    let (code, message) = error(resp).await;
    assert_eq!(code, "unknown_product");
    assert!(
        message.contains("BK-9998") && message.contains("VI-9999"),
        "{message}"
    );
    assert!(!message.contains("BK-0001"), "{message}");
}

#[tokio::test]
async fn a_hundred_ids_are_accepted() {
    let app = spawn_app().await;
    let ids: Vec<&str> = apiary_seed::products()
        .iter()
        .take(100)
        .map(|p| p.id.as_str())
        .collect();
    let resp = app.get(&format!("/stock?ids={}", ids.join(","))).await;
    assert_eq!(resp.status(), 200);
    let levels: StockLevels = resp.json().await.expect("levels");
    assert_eq!(levels.items.len(), 100);
}
