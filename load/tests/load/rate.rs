use std::time::Duration;

use apiary_load::bench_server::Stall;
use apiary_load::engine::Run;

use crate::helpers::{bench, config, get_profile, timing_lock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_arrival_rate_is_held_within_five_percent() {
    let _serial = timing_lock().await;
    let addr = bench(Stall::default()).await;
    let cfg = config(
        &format!("http://{addr}"),
        get_profile("/"),
        100.0,
        Duration::from_secs(3),
    )
    .await;
    let results = Run::start(cfg).wait().await.expect("the run takes place");

    // 100 journeys/s for 3 s.
    let expected = 300.0;
    let started = results.journeys_started as f64;
    assert!(
        (started - expected).abs() <= expected * 0.05,
        "started {started} journeys, expected {expected} ± 5%"
    );
    assert_eq!(results.journeys_not_started, 0);
    assert_eq!(results.errors, 0, "{:?}", results.errors_by_class);
    assert_eq!(results.requests, results.journeys_started);
    // Every full second of the run started its 100 journeys (the last point is the partial
    // tail after the schedule ended).
    for p in results.series.iter().filter(|p| p.offered_rate > 0.0) {
        assert!(
            (95..=105).contains(&p.journeys_started),
            "second ending at {:.1}s started {}",
            p.t,
            p.journeys_started
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_beyond_the_in_flight_cap_are_counted_not_started() {
    let _serial = timing_lock().await;
    // Every request is held ~200 ms (stall 200 ms every 200 ms), so at 100/s about 20 are
    // under way at once: a cap of 5 must turn most arrivals away, and count them.
    let addr = bench(Stall {
        every: Some(Duration::from_millis(200)),
        duration: Duration::from_millis(200),
    })
    .await;
    let mut cfg = config(
        &format!("http://{addr}"),
        get_profile("/"),
        100.0,
        Duration::from_secs(2),
    )
    .await;
    cfg.max_in_flight = 5;
    let results = Run::start(cfg).wait().await.expect("the run takes place");
    let due = results.journeys_started + results.journeys_not_started;
    assert!((190..=210).contains(&due), "{due} journeys were due");
    assert!(results.journeys_not_started > 100, "{results:?}");
    assert!(
        results.journeys_started <= 5 * 12,
        "{}",
        results.journeys_started
    );
}
