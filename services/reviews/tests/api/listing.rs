use apiary_wire::shop::ProductReviews;

use crate::helpers::{error_of, spawn_seeded};

#[tokio::test]
async fn seeded_products_list_their_reviews_newest_first_with_count_and_average() {
    let (app, _dir) = spawn_seeded().await;
    let expected = reviews::seed::generate(apiary_seed::products());
    let mut with_reviews = 0;
    for product in [
        "BK-0001", "BK-0002", "MU-0001", "MU-0050", "VI-0001", "VI-0090",
    ] {
        let page = app.reviews(product).await;
        let mine: Vec<_> = expected
            .iter()
            .filter(|r| r.product_id == product)
            .collect();
        assert_eq!(page.product_id, product);
        assert_eq!(page.count, mine.len() as u64, "{product}");
        assert_eq!(page.reviews.len(), mine.len(), "{product}");
        assert!(
            page.reviews
                .windows(2)
                .all(|w| w[0].created_at_ms >= w[1].created_at_ms),
            "{product}: not newest first"
        );
        if mine.is_empty() {
            assert_eq!(page.average_rating, None);
        } else {
            with_reviews += 1;
            let mean = mine.iter().map(|r| f64::from(r.rating)).sum::<f64>() / mine.len() as f64;
            let average = page.average_rating.expect("average");
            assert!(
                (average - mean).abs() < 1e-9,
                "{product}: {average} vs {mean}"
            );
        }
    }
    assert!(with_reviews > 0);
}

#[tokio::test]
async fn limit_bounds_the_page_but_not_the_totals() {
    let (app, _dir) = spawn_seeded().await;
    // A product the seed gave several reviews.
    let expected = reviews::seed::generate(apiary_seed::products());
    let busy = expected
        .iter()
        .map(|r| r.product_id.as_str())
        .find(|id| expected.iter().filter(|r| r.product_id == *id).count() >= 3)
        .expect("a product with 3+ seed reviews");
    let resp = app.get(&format!("/products/{busy}/reviews?limit=2")).await;
    assert_eq!(resp.status(), 200);
    let page: ProductReviews = resp.json().await.expect("page");
    assert_eq!(page.reviews.len(), 2);
    assert!(page.count >= 3);
    let full = app.reviews(busy).await;
    assert_eq!(page.reviews[..], full.reviews[..2]);
    // Default is 10.
    let default: ProductReviews = app
        .get(&format!("/products/{busy}/reviews"))
        .await
        .json()
        .await
        .expect("page");
    assert_eq!(default.reviews.len(), full.reviews.len().min(10));
}

#[tokio::test]
async fn bad_ids_unknown_products_and_bad_limits_are_refused() {
    let (app, _dir) = spawn_seeded().await;
    for (path, status, code) in [
        ("/products/bk-0001/reviews", 400, "invalid_product_id"),
        ("/products/XX-0001/reviews", 400, "invalid_product_id"),
        ("/products/BK-01/reviews", 400, "invalid_product_id"),
        ("/products/BK-9999/reviews", 404, "unknown_product"),
        ("/products/VI-0091/reviews", 404, "unknown_product"),
        ("/products/BK-0001/reviews?limit=0", 422, "invalid_limit"),
        ("/products/BK-0001/reviews?limit=51", 422, "invalid_limit"),
        ("/products/BK-0001/reviews?limit=ten", 422, "invalid_limit"),
    ] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(error_of(resp).await.0, code, "{path}");
    }
}
