//! Client-side balancing over real servers found through an endpoints file: calls spread over
//! every ready instance, an instance that fails its readiness probe gets none, one that dies
//! is dropped (no call fails for it once it is gone) and one added to the file joins.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use apiary_chassis::HttpClient;
use apiary_chassis::balance::Discovery;
use apiary_wire::discovery::{Endpoints, Instance, file_name};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn instance(ready: bool) -> MockServer {
    // Not from the pool: dropping it stops it, as a dying instance would.
    let server = MockServer::builder().start().await;
    Mock::given(method("GET"))
        .and(path("/health/ready"))
        .respond_with(ResponseTemplate::new(if ready { 200 } else { 503 }))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/work"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(5)))
        .mount(&server)
        .await;
    server
}

fn write(dir: &Path, servers: &[&MockServer]) {
    let endpoints = Endpoints {
        service: "peer".into(),
        instances: servers
            .iter()
            .enumerate()
            .map(|(i, s)| Instance {
                id: format!("peer-{}", i + 1),
                url: s.uri(),
            })
            .collect(),
    };
    let tmp = dir.join("peer.tmp");
    std::fs::write(&tmp, serde_json::to_string(&endpoints).expect("json")).expect("write");
    std::fs::rename(&tmp, dir.join(file_name("peer"))).expect("rename");
}

/// Waits (bounded) until the client balances over exactly `n` instances.
async fn until_balancing_over(client: &HttpClient, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // A call makes the client start watching.
        let _ = client.send_idempotent("/work", client.get("/work")).await;
        if client.instances().len() == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never balanced over {n}: {:?}",
            client.instances()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn served(servers: &[&MockServer]) -> Vec<usize> {
    let mut out = Vec::new();
    for s in servers {
        let n = s
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/work")
            .count();
        out.push(n);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_spread_over_ready_instances_and_follow_the_endpoints_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, c) = (
        instance(true).await,
        instance(true).await,
        instance(false).await,
    );
    write(dir.path(), &[&a, &b, &c]);
    let client = HttpClient::new("peer", a.uri(), Duration::from_secs(2))
        .expect("client")
        .with_discovery(Discovery::File(dir.path().to_owned()));
    until_balancing_over(&client, 2).await;
    let ready: Vec<String> = client.instances();
    assert!(
        !ready.iter().any(|u| u.starts_with(&c.uri())),
        "the instance failing readiness is left out: {ready:?}"
    );

    let before = served(&[&a, &b, &c]).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            for _ in 0..25 {
                let resp = client.send("/work", client.get("/work")).await;
                ok += usize::from(resp.is_ok_and(|r| r.status().is_success()));
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.expect("task");
    }
    assert_eq!(ok, 200, "every call answered");
    let after = served(&[&a, &b, &c]).await;
    let delta: Vec<usize> = after.iter().zip(&before).map(|(x, y)| x - y).collect();
    assert_eq!(delta[2], 0, "nothing for the unready instance: {delta:?}");
    assert!(
        delta[0] >= 40 && delta[1] >= 40,
        "both ready instances share the calls: {delta:?}"
    );

    // One instance dies: it leaves the set, and calls keep succeeding on the other.
    drop(a);
    until_balancing_over(&client, 1).await;
    for _ in 0..20 {
        let resp = client.send("/work", client.get("/work")).await;
        assert!(resp.is_ok_and(|r| r.status().is_success()));
    }

    // A new instance joins through the file.
    let d = instance(true).await;
    write(dir.path(), &[&b, &d]);
    until_balancing_over(&client, 2).await;
    let mut by_instance: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..60 {
        let resp = client
            .send("/work", client.get("/work"))
            .await
            .expect("answered");
        *by_instance
            .entry(resp.url().port().unwrap_or(0).to_string())
            .or_default() += 1;
    }
    assert_eq!(
        by_instance.len(),
        2,
        "both instances served: {by_instance:?}"
    );
}

#[tokio::test]
async fn a_static_client_calls_its_url_alone() {
    let a = instance(true).await;
    let client = HttpClient::new("peer", a.uri(), Duration::from_secs(2)).expect("client");
    let resp = client
        .send("/work", client.get("/work"))
        .await
        .expect("answered");
    assert!(resp.status().is_success());
    assert!(client.instances().is_empty(), "no watcher for one URL");
}
