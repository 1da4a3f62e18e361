use apiary_wire::shop::Review;

use crate::helpers::{new_review, spawn_in, spawn_seeded};

#[tokio::test]
async fn a_restart_keeps_reviews_and_does_not_seed_twice() {
    let (app, dir) = spawn_seeded().await;
    let posted: Review = app
        .submit("BK-0003", &new_review(2, "Oskar V."))
        .await
        .json()
        .await
        .expect("review");
    let before = app.reviews("BK-0003").await;
    let seeded_elsewhere = app.reviews("MU-0002").await;
    app.stop().await;

    let app = spawn_in(dir.path(), true).await;
    let after = app.reviews("BK-0003").await;
    assert_eq!(after, before);
    assert_eq!(after.reviews.first(), Some(&posted));
    assert_eq!(app.reviews("MU-0002").await, seeded_elsewhere);
}

#[tokio::test]
async fn the_seed_is_the_same_on_every_fresh_start() {
    let (first, _a) = spawn_seeded().await;
    let (second, _b) = spawn_seeded().await;
    for product in ["BK-0010", "MU-0020", "VI-0030"] {
        assert_eq!(
            first.reviews(product).await,
            second.reviews(product).await,
            "{product}"
        );
    }
}
