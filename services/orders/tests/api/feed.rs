use apiary_wire::shop::OrderFeed;

use crate::helpers::{error, order, spawn_app};

#[tokio::test]
async fn the_feed_pages_through_every_order_in_seq_order() {
    let app = spawn_app().await;
    for i in 1..=5 {
        assert_eq!(app.place(&order(&format!("f-{i}"))).await.status(), 201);
    }
    // A replay adds nothing to the feed.
    assert_eq!(app.place(&order("f-2")).await.status(), 200);
    let mut after = 0;
    let mut seen = Vec::new();
    for _ in 0..10 {
        let resp = app.get(&format!("/orders?after_seq={after}&limit=2")).await;
        assert_eq!(resp.status(), 200);
        let page: OrderFeed = resp.json().await.expect("feed");
        if page.items.is_empty() {
            assert_eq!(page.last_seq, after);
            break;
        }
        assert!(page.items.len() <= 2);
        assert_eq!(
            page.last_seq,
            page.items.last().map(|o| o.seq).unwrap_or(after)
        );
        assert!(
            page.items
                .iter()
                .all(|o| o.seq > after && o.lines.len() == 2)
        );
        seen.extend(page.items.into_iter().map(|o| o.order_id));
        after = page.last_seq;
    }
    assert_eq!(seen, ["f-1", "f-2", "f-3", "f-4", "f-5"]);
    assert_eq!(after, 5);
}

#[tokio::test]
async fn the_feed_defaults_to_the_start_and_echoes_after_seq_when_empty() {
    let app = spawn_app().await;
    let empty: OrderFeed = app.get("/orders").await.json().await.expect("feed");
    assert!(empty.items.is_empty());
    assert_eq!(empty.last_seq, 0);
    assert_eq!(app.place(&order("d-1")).await.status(), 201);
    let page: OrderFeed = app.get("/orders").await.json().await.expect("feed");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.last_seq, 1);
    let beyond: OrderFeed = app
        .get("/orders?after_seq=40&limit=500")
        .await
        .json()
        .await
        .expect("feed");
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.last_seq, 40);
}

#[tokio::test]
async fn bad_feed_parameters_are_a_400() {
    let app = spawn_app().await;
    for (path, code) in [
        ("/orders?after_seq=-1", "invalid_after_seq"),
        ("/orders?after_seq=one", "invalid_after_seq"),
        ("/orders?limit=0", "invalid_limit"),
        ("/orders?limit=501", "invalid_limit"),
        ("/orders?limit=ten", "invalid_limit"),
    ] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), 400, "{path}");
        assert_eq!(error(resp).await.0, code, "{path}");
    }
}
