use std::collections::HashSet;

use crate::helpers::{ids, order, spawn_app};

#[tokio::test]
async fn without_orders_the_answer_is_similar_products() {
    let app = spawn_app().await;
    app.serve_feed(Vec::new()).await;
    let recs = app.recommendations("/recommendations/BK-0001").await;
    assert_eq!(recs.product_id, "BK-0001");
    assert_eq!(recs.model, "similar");
    assert_eq!(recs.items.len(), 4);
    let all = ids(&recs);
    assert!(!all.contains(&"BK-0001"));
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len());
    // Similar books first: every item is a book (BK-0001 is one, and has plenty of peers).
    assert!(all.iter().all(|id| id.starts_with("BK-")), "{all:?}");
    // Deterministic.
    assert_eq!(app.recommendations("/recommendations/BK-0001").await, recs);
}

#[tokio::test]
async fn orders_in_the_feed_become_co_purchase_answers() {
    let app = spawn_app().await;
    app.serve_feed(vec![
        order(1, &["BK-0001", "MU-0002"]),
        order(2, &["BK-0001", "MU-0002", "VI-0003"]),
        order(3, &["BK-0001", "MU-0002"]),
        order(4, &["VI-0003", "BK-0004"]),
    ])
    .await;
    let recs = app.wait_for_model("BK-0001", "co-purchase").await;
    assert_eq!(recs.model, "co-purchase");
    assert_eq!(recs.items.len(), 5);
    assert_eq!(&ids(&recs)[..2], &["MU-0002", "VI-0003"]);
    assert_eq!(recs.items[0].score, 3.0);
    assert_eq!(recs.items[1].score, 1.0);
    // Padded with similar products, scored below any co-purchase.
    assert!(recs.items[2..].iter().all(|r| r.score < 1.0));
    // A product nobody bought with anything is still answered, by similarity.
    let other = app.recommendations("/recommendations/MU-0050").await;
    assert_eq!(other.model, "similar");
    // The limit caps co-purchases too.
    let one = app
        .recommendations("/recommendations/BK-0001?limit=1")
        .await;
    assert_eq!(ids(&one), vec!["MU-0002"]);
}

#[tokio::test]
async fn the_learner_keeps_polling_after_the_end_of_the_feed() {
    let app = spawn_app().await;
    app.serve_feed(vec![order(1, &["BK-0001", "MU-0002"])])
        .await;
    app.wait_for_model("BK-0001", "co-purchase").await;
    let before = app.feed_calls().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.feed_calls().await > before);
    // Learned once, not once per poll.
    let recs = app.recommendations("/recommendations/BK-0001").await;
    assert_eq!(recs.items[0].score, 1.0);
}
