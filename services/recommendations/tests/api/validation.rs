use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn bad_input_gets_a_4xx_with_a_json_error() {
    let app = spawn_app().await;
    for (path, status, code) in [
        ("/recommendations/not-an-id", 400, "invalid_product_id"),
        ("/recommendations/XX-0001", 400, "invalid_product_id"),
        ("/recommendations/bk-0001", 400, "invalid_product_id"),
        ("/recommendations/BK-9999", 404, "unknown_product"),
        ("/recommendations/BK-0001?limit=0", 422, "invalid_limit"),
        ("/recommendations/BK-0001?limit=21", 422, "invalid_limit"),
        ("/recommendations/BK-0001?limit=many", 422, "invalid_limit"),
        ("/recommendations/BK-0001?limit=-1", 422, "invalid_limit"),
        ("/recommendations", 404, "not_found"),
    ] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(error_code(resp).await, code, "{path}");
    }
    let resp = app
        .http
        .post(format!("{}/recommendations/BK-0001", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 405);
    assert_eq!(error_code(resp).await, "method_not_allowed");
}

#[tokio::test]
async fn the_limit_sets_the_size_of_the_answer() {
    let app = spawn_app().await;
    for (query, expected) in [("", 4), ("?limit=1", 1), ("?limit=20", 20), ("?limit=", 4)] {
        let recs = app
            .recommendations(&format!("/recommendations/MU-0001{query}"))
            .await;
        assert_eq!(recs.items.len(), expected, "{query}");
    }
}
