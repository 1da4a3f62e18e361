use apiary_wire::shop::{Cart, CartStats};

use crate::helpers::{line, lines, spawn_app};

#[tokio::test]
async fn an_unknown_cart_is_an_empty_one() {
    let app = spawn_app().await;
    let resp = app.get("/carts/never-seen").await;
    assert_eq!(resp.status(), 200);
    let cart: Cart = resp.json().await.expect("cart");
    assert_eq!(cart.cart_id, "never-seen");
    assert!(cart.items.is_empty());
    assert_eq!(cart.expires_at_ms, None);
}

#[tokio::test]
async fn adding_accumulates_lines_in_the_order_first_added() {
    let app = spawn_app().await;
    assert_eq!(
        lines(app.add("c1", "VI-0003", 1).await).await,
        vec![line("VI-0003", 1)]
    );
    app.add("c1", "BK-0001", 2).await;
    let after = lines(app.add("c1", "VI-0003", 4).await).await;
    assert_eq!(after, vec![line("VI-0003", 5), line("BK-0001", 2)]);
    let cart: Cart = app.get("/carts/c1").await.json().await.expect("cart");
    assert_eq!(cart.items.len(), 2);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let expires = cart.expires_at_ms.expect("a cart with lines expires");
    // Default TTL is 30 minutes from the last touch.
    assert!(
        (now_ms + 1_790_000..=now_ms + 1_810_000).contains(&expires),
        "{expires}"
    );
}

#[tokio::test]
async fn carts_are_independent() {
    let app = spawn_app().await;
    app.add("alice", "MU-0001", 1).await;
    app.add("bob", "MU-0002", 2).await;
    assert_eq!(
        lines(app.get("/carts/alice").await).await,
        vec![line("MU-0001", 1)]
    );
    assert_eq!(
        lines(app.get("/carts/bob").await).await,
        vec![line("MU-0002", 2)]
    );
}

#[tokio::test]
async fn quantities_are_set_and_zero_removes_the_line() {
    let app = spawn_app().await;
    app.add("c1", "BK-0001", 1).await;
    app.add("c1", "BK-0002", 1).await;
    assert_eq!(
        lines(app.set("c1", "BK-0001", 7).await).await,
        vec![line("BK-0001", 7), line("BK-0002", 1)]
    );
    assert_eq!(
        lines(app.set("c1", "BK-0001", 0).await).await,
        vec![line("BK-0002", 1)]
    );
}

#[tokio::test]
async fn removing_a_line_is_idempotent() {
    let app = spawn_app().await;
    app.add("c1", "BK-0001", 1).await;
    app.add("c1", "BK-0002", 3).await;
    for _ in 0..2 {
        let resp = app.delete("/carts/c1/items/BK-0001").await;
        assert_eq!(lines(resp).await, vec![line("BK-0002", 3)]);
    }
}

#[tokio::test]
async fn deleting_a_cart_empties_it_and_is_idempotent() {
    let app = spawn_app().await;
    app.add("c1", "BK-0001", 1).await;
    assert_eq!(app.delete("/carts/c1").await.status(), 204);
    assert_eq!(app.delete("/carts/c1").await.status(), 204);
    assert!(lines(app.get("/carts/c1").await).await.is_empty());
}

#[tokio::test]
async fn stats_count_carts_and_units() {
    let app = spawn_app().await;
    app.add("s1", "BK-0001", 2).await;
    app.add("s1", "BK-0002", 3).await;
    app.add("s2", "VI-0001", 1).await;
    let stats: CartStats = app.get("/carts/stats").await.json().await.expect("stats");
    assert_eq!(
        stats,
        CartStats {
            active_carts: 2,
            units: 6,
            expired_total: 0
        }
    );
    app.delete("/carts/s1").await;
    let stats: CartStats = app.get("/carts/stats").await.json().await.expect("stats");
    assert_eq!((stats.active_carts, stats.units), (1, 1));
}

#[tokio::test]
async fn a_lost_store_loses_every_cart() {
    let app = spawn_app().await;
    app.add("c1", "BK-0001", 1).await;
    app.add("c2", "BK-0001", 1).await;
    assert_eq!(app.store.clear(), 2);
    assert!(lines(app.get("/carts/c1").await).await.is_empty());
    let stats: CartStats = app.get("/carts/stats").await.json().await.expect("stats");
    assert_eq!(stats.active_carts, 0);
}
