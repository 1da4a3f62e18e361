use axum::body::Body;
use inventory::routes::AppState;
use inventory::store::InventoryStore;
use tower::ServiceExt;

use crate::helpers::{metric_value, spawn_app, stocked_product};

#[tokio::test]
async fn health_endpoints_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health/live").await.status(), 200);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"][0]["name"], "database");
}

#[tokio::test]
async fn metrics_show_business_counters_gauges_and_the_route_histogram() {
    let app = spawn_app().await;
    let (p, _) = stocked_product(1);
    assert_eq!(app.reserve("m1", &[(p, 1)]).await.status(), 201);
    assert_eq!(
        app.post_empty("/reservations/m1/commit").await.status(),
        200
    );
    assert_eq!(app.reserve("m2", &[(p, 1)]).await.status(), 201);
    assert_eq!(
        app.post_empty("/reservations/m2/release").await.status(),
        200
    );
    let text = app.get("/metrics").await.text().await.expect("text");
    for outcome in ["held", "committed", "released"] {
        let series = format!(r#"shop_reservations_total{{outcome="{outcome}"}}"#);
        assert!(metric_value(&text, &series) >= 1.0, "{series}\n{text}");
    }
    // The gauges are process-wide and every test app sets them, so only their presence and
    // plausibility can be asserted here; the store tests check the totals themselves.
    for gauge in [
        "shop_inventory_available_units",
        "shop_inventory_reserved_units",
        "shop_inventory_out_of_stock_products",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{gauge} "))),
            "{gauge}\n{text}"
        );
    }
    assert!(metric_value(&text, "shop_inventory_available_units") > 0.0);
    assert!(
        text.lines().any(
            |l| l.starts_with("http_server_request_duration_seconds_bucket")
                && l.contains(r#"http_route="/reservations/{reservation_id}/commit""#)
        ),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_documents_every_route() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.expect("json");
    for path in [
        "/stock",
        "/stock/{product_id}",
        "/reservations",
        "/reservations/{reservation_id}",
        "/reservations/{reservation_id}/commit",
        "/reservations/{reservation_id}/release",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
}

#[tokio::test]
async fn the_router_serves_without_a_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = InventoryStore::open(dir.path()).expect("open");
    let router = inventory::startup::service(AppState {
        store,
        hold: std::time::Duration::from_secs(60),
    })
    .router();
    // Nothing seeded in this store: every product is unknown.
    let req = axum::http::Request::get("/stock/BK-0001")
        .body(Body::empty())
        .expect("request");
    let resp = router.oneshot(req).await.expect("response");
    assert_eq!(resp.status(), 404);
}
