use std::time::Duration;

use apiary_testkit::metric_sample;
use apiary_wire::shop::CartStats;
use cart::Config;

use crate::helpers::{line, lines, spawn_with};

fn short_lived(ttl: Duration, max_carts: usize) -> Config {
    Config {
        ttl,
        max_carts,
        sweep_interval: Duration::from_millis(50),
        ..Config::for_tests()
    }
}

#[tokio::test]
async fn an_untouched_cart_expires_and_the_sweeper_counts_it() {
    let app = spawn_with(short_lived(Duration::from_millis(300), 100)).await;
    app.add("c1", "BK-0001", 2).await;
    // The sweeper, not a read, must drop it: poll only the stats, bounded.
    let mut stats = CartStats {
        active_carts: 1,
        units: 2,
        expired_total: 0,
    };
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Read the store directly: /carts/stats would also sweep.
        let s = app.store.totals();
        stats = CartStats {
            active_carts: s.active_carts,
            units: s.units,
            expired_total: s.expired_total,
        };
        if stats.expired_total > 0 {
            break;
        }
    }
    assert_eq!(
        stats,
        CartStats {
            active_carts: 0,
            units: 0,
            expired_total: 1
        }
    );
    assert!(lines(app.get("/carts/c1").await).await.is_empty());
}

#[tokio::test]
async fn every_touch_slides_the_ttl() {
    let app = spawn_with(short_lived(Duration::from_millis(600), 100)).await;
    app.add("c1", "BK-0001", 1).await;
    // Touched every 200 ms for 1.2 s: twice the TTL, and still there.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            lines(app.get("/carts/c1").await).await,
            vec![line("BK-0001", 1)]
        );
    }
}

#[tokio::test]
async fn a_full_store_evicts_the_least_recently_touched_cart() {
    let app = spawn_with(short_lived(Duration::from_secs(60), 2)).await;
    app.add("a", "BK-0001", 1).await;
    app.add("b", "BK-0001", 1).await;
    app.get("/carts/a").await;
    app.add("c", "BK-0001", 1).await;
    assert!(lines(app.get("/carts/b").await).await.is_empty());
    assert_eq!(lines(app.get("/carts/a").await).await.len(), 1);
    assert_eq!(lines(app.get("/carts/c").await).await.len(), 1);
    let text = app.get("/metrics").await.text().await.expect("metrics");
    let evicted = metric_sample(&text, "shop_carts_evicted_total").expect("evicted counter");
    assert!(evicted >= 1.0, "{text}");
}
