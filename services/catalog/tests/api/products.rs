use apiary_wire::{Product, ProductPage};

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn listing_filters_by_category_and_pages() {
    let app = spawn_app().await;
    let resp = app.get("/products?category=video&limit=3").await;
    assert_eq!(resp.status(), 200);
    let page: ProductPage = resp.json().await.expect("page");
    assert_eq!(page.items.len(), 3);
    assert!(page.total >= 8);
    assert!(page.items.iter().all(|p| p.category == "video"));
    assert!(
        page.items
            .iter()
            .all(|p| p.price.amount_minor > 0 && p.price.currency.as_str() == "EUR")
    );
}

#[tokio::test]
async fn search_finds_by_creator() {
    let app = spawn_app().await;
    let page: ProductPage = app
        .get("/products?q=quist")
        .await
        .json()
        .await
        .expect("page");
    assert!(page.total >= 1);
    assert!(
        page.items
            .iter()
            .all(|p| p.creator.to_lowercase().contains("quist")
                || p.title.to_lowercase().contains("quist"))
    );
}

#[tokio::test]
async fn a_product_is_served_by_id() {
    let app = spawn_app().await;
    let resp = app.get("/products/BK-0001").await;
    assert_eq!(resp.status(), 200);
    let product: Product = resp.json().await.expect("product");
    assert_eq!(product.title, "The Distant Forest");
    assert_eq!(product.creator, "Clara Quist");
}

#[tokio::test]
async fn bad_input_gets_a_4xx_with_a_json_error() {
    let app = spawn_app().await;
    for (path, status, code) in [
        ("/products/BK-9999", 404, "unknown_product"),
        ("/products?ids=BK-0001,../x", 400, "bad_request"),
        ("/products/not-an-id", 400, "bad_request"),
        ("/products?category=games", 400, "bad_request"),
        ("/products?limit=0", 400, "bad_request"),
        ("/products?limit=many", 400, "bad_request"),
        ("/products?offset=-3", 400, "bad_request"),
        ("/nowhere", 404, "not_found"),
    ] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(error_code(resp).await, code, "{path}");
    }
}

#[tokio::test]
async fn categories_count_their_products() {
    let app = spawn_app().await;
    let resp = app.get("/categories").await;
    assert_eq!(resp.status(), 200);
    let list: apiary_wire::CategoryList = resp.json().await.expect("categories");
    let names: Vec<_> = list.items.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["books", "music", "video"]);
    assert!(list.items.iter().map(|c| c.count).sum::<usize>() >= 300);
}

#[tokio::test]
async fn an_id_list_returns_those_products() {
    let app = spawn_app().await;
    let page: ProductPage = app
        .get("/products?ids=VI-0003,BK-0002,BK-9999")
        .await
        .json()
        .await
        .expect("page");
    let ids: Vec<_> = page.items.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["BK-0002", "VI-0003"]);
}
