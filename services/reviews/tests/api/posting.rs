use apiary_wire::shop::Review;
use serde_json::json;

use crate::helpers::{error_of, new_review, spawn_empty, spawn_seeded};

#[tokio::test]
async fn a_posted_review_is_trimmed_stored_and_listed_first() {
    let (app, _dir) = spawn_seeded().await;
    let before = app.reviews("MU-0001").await;
    let resp = app
        .submit(
            "MU-0001",
            &json!({ "rating": 3, "author": "  Ada L.  ", "title": " Good in parts ", "body": " Side B drags.\n" }),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let review: Review = resp.json().await.expect("review");
    assert!(review.review_id.starts_with("rv_"), "{}", review.review_id);
    assert_eq!(review.product_id, "MU-0001");
    assert_eq!(
        (
            review.rating,
            review.author.as_str(),
            review.title.as_str(),
            review.body.as_str()
        ),
        (3, "Ada L.", "Good in parts", "Side B drags.")
    );
    let after = app.reviews("MU-0001").await;
    assert_eq!(after.count, before.count + 1);
    assert_eq!(after.reviews.first(), Some(&review));
}

#[tokio::test]
async fn the_average_covers_every_review() {
    let (app, _dir) = spawn_empty().await;
    assert_eq!(app.reviews("VI-0007").await.average_rating, None);
    for rating in [5, 4, 4, 1] {
        assert_eq!(
            app.submit("VI-0007", &new_review(rating, "Sven T."))
                .await
                .status(),
            201
        );
    }
    let page = app.reviews("VI-0007").await;
    assert_eq!(page.count, 4);
    assert_eq!(page.average_rating, Some(3.5));
    let ratings: Vec<u8> = page.reviews.iter().map(|r| r.rating).collect();
    assert_eq!(ratings, [1, 4, 4, 5], "newest first");
    // Other products are untouched.
    assert_eq!(app.reviews("VI-0008").await.count, 0);
}

#[tokio::test]
async fn every_invalid_field_has_its_error_and_nothing_is_stored() {
    let (app, _dir) = spawn_empty().await;
    let with = |field: &str, value: serde_json::Value| {
        let mut body = new_review(4, "Ada L.");
        body[field] = value;
        body
    };
    let cases = [
        (with("rating", json!(0)), "invalid_rating"),
        (with("rating", json!(6)), "invalid_rating"),
        (with("rating", json!(2.5)), "invalid_rating"),
        (with("rating", json!("5")), "invalid_rating"),
        (with("author", json!("")), "invalid_author"),
        (with("author", json!("   ")), "invalid_author"),
        (with("author", json!("a".repeat(61))), "invalid_author"),
        (with("title", json!("")), "invalid_title"),
        (with("title", json!("t".repeat(121))), "invalid_title"),
        (with("body", json!(" \n ")), "invalid_body"),
        (with("body", json!("b".repeat(2001))), "invalid_body"),
        (
            json!({ "author": "Ada", "title": "T", "body": "B" }),
            "invalid_rating",
        ),
        (json!([1, 2, 3]), "invalid_review"),
    ];
    for (body, code) in cases {
        let resp = app.submit("BK-0001", &body).await;
        assert_eq!(resp.status(), 422, "{code}: {body}");
        assert_eq!(error_of(resp).await.0, code, "{body}");
    }
    assert_eq!(app.reviews("BK-0001").await.count, 0);
}

#[tokio::test]
async fn an_email_address_as_author_is_refused_without_being_echoed() {
    let (app, _dir) = spawn_empty().await;
    for author in ["ada.lovelace@example.com", "ada@", "@ada"] {
        let resp = app.submit("BK-0002", &new_review(5, author)).await;
        assert_eq!(resp.status(), 422, "{author}");
        let (code, message) = error_of(resp).await;
        assert_eq!(code, "invalid_author");
        assert!(
            !message.contains(author) && !message.contains("ada"),
            "{message}"
        );
    }
    // Even in a field of the wrong type, the address is not repeated.
    let resp = app
        .submit("BK-0002", &json!({ "rating": "ada.lovelace@example.com", "author": "A", "title": "T", "body": "B" }))
        .await;
    let (code, message) = error_of(resp).await;
    assert_eq!(code, "invalid_rating");
    assert!(!message.contains("ada"), "{message}");
}

#[tokio::test]
async fn posting_to_a_bad_or_unknown_product_is_refused() {
    let (app, _dir) = spawn_empty().await;
    let resp = app.submit("BK-9999", &new_review(5, "Ada")).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(error_of(resp).await.0, "unknown_product");
    let resp = app.submit("book-1", &new_review(5, "Ada")).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_of(resp).await.0, "invalid_product_id");
    let resp = app
        .http
        .post(format!("{}/products/BK-0001/reviews", app.address))
        .header("content-type", "application/json")
        .body("{\"rating\": 5,")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 400);
}
