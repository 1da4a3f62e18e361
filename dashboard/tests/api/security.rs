//! Access control off loopback, exercised on loopback by forcing the token mode.

use dashboard::startup::Access;
use dashboard::{Application, Config};
use prost::Message;

use crate::helpers::{TestSpan, spans_request};

#[tokio::test]
async fn the_api_needs_the_token_and_otlp_needs_the_key() {
    let app = Application::build_with_targets(Config::for_tests(), Vec::new())
        .await
        .expect("build")
        .with_access(Access::Token {
            token: "tok3n".into(),
            api_key: "k3y".into(),
        });
    let api = format!("http://127.0.0.1:{}", app.port());
    let otlp = format!("http://127.0.0.1:{}", app.otlp_http_port());
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();

    let anonymous = http
        .get(format!("{api}/api/services"))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);
    let body: serde_json::Value = anonymous.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unauthorized");
    let wrong = http
        .get(format!("{api}/api/services"))
        .bearer_auth("nope")
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 401);
    let bearer = http
        .get(format!("{api}/api/services"))
        .bearer_auth("tok3n")
        .send()
        .await
        .expect("request");
    assert_eq!(bearer.status(), 200);
    let first_visit = http
        .get(format!("{api}/api/services?token=tok3n"))
        .send()
        .await
        .expect("request");
    assert_eq!(first_visit.status(), 200);
    let cookie = first_visit.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        cookie.starts_with("apiary_token=tok3n")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let with_cookie = http
        .get(format!("{api}/api/services"))
        .header("cookie", "apiary_token=tok3n")
        .send()
        .await
        .expect("request");
    assert_eq!(with_cookie.status(), 200);
    // Probes stay open for orchestrators.
    assert_eq!(
        http.get(format!("{api}/health/live"))
            .send()
            .await
            .expect("live")
            .status(),
        200
    );

    let spans = vec![TestSpan {
        trace: 1,
        id: 1,
        parent: None,
        name: "GET /x",
        kind: 2,
        start_ms: 0,
        duration_ms: 1,
        error: false,
    }];
    let body = spans_request("svc", &spans).encode_to_vec();
    let post = |key: Option<&'static str>| {
        let mut req = http
            .post(format!("{otlp}/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(body.clone());
        if let Some(key) = key {
            req = req.header("x-api-key", key);
        }
        req.send()
    };
    assert_eq!(post(None).await.expect("send").status(), 401);
    assert_eq!(post(Some("tok3n")).await.expect("send").status(), 401);
    assert_eq!(post(Some("k3y")).await.expect("send").status(), 200);
}

#[tokio::test]
async fn an_unsecured_dashboard_says_so_in_every_api_answer() {
    let app = Application::build_with_targets(Config::for_tests(), Vec::new())
        .await
        .expect("build")
        .with_access(Access::Unsecured);
    let api = format!("http://127.0.0.1:{}", app.port());
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let resp = reqwest::get(format!("{api}/api/store"))
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["x-apiary-warning"]
            .to_str()
            .unwrap_or("")
            .contains("unsecured")
    );
}

/// DNS rebinding: a page on evil.example that rebinds its name to 127.0.0.1 reaches the
/// dashboard with `Host: evil.example`; it must get nothing.
#[tokio::test]
async fn a_foreign_host_name_is_refused_on_loopback() {
    let mut config = Config::for_tests();
    config.allowed_hosts = vec!["dash.internal".into()];
    let d = crate::helpers::spawn(config, Vec::new()).await;
    let port = d.api.rsplit(':').next().expect("port").to_owned();
    let get = |host: String| {
        d.http
            .get(format!("{}/api/services", d.api))
            .header("host", host)
            .send()
    };
    let refused = get(format!("evil.example:{port}")).await.expect("request");
    assert_eq!(refused.status(), 403);
    let body: serde_json::Value = refused.json().await.expect("json");
    assert_eq!(body["error"]["code"], "host_not_allowed", "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    let page = d
        .http
        .get(format!("{}/", d.api))
        .header("host", "evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), 403, "pages too");
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("dash.internal:{port}"),
    ] {
        assert_eq!(
            get(host.clone()).await.expect("request").status(),
            200,
            "{host}"
        );
    }
    // Probes and scrapers reach the operational routes by any name.
    let health = d
        .http
        .get(format!("{}/health/live", d.api))
        .header("host", "dashboard.monitoring.svc")
        .send()
        .await
        .expect("request");
    assert_eq!(health.status(), 200);
}

/// The browser's "I showed it" beacon: no token, but JSON `{"at": n}` only, small, same-site.
#[tokio::test]
async fn the_seen_beacon_takes_a_timestamp_and_nothing_else() {
    let d = crate::helpers::spawn_default().await;
    let url = format!("{}/api/seen", d.api);
    let post = |body: &'static str| {
        d.http
            .post(&url)
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body)
            .send()
    };
    assert_eq!(
        post(r#"{"at": 1796424567291}"#)
            .await
            .expect("post")
            .status(),
        204
    );
    let bad = post(r#"{"at": "soon"}"#).await.expect("post");
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.expect("json error");
    assert_eq!(body["error"]["code"], "bad_request");
    assert_eq!(
        post(r#"{"at": 1, "x": 2}"#).await.expect("post").status(),
        400
    );
    let big = d
        .http
        .post(&url)
        .body(format!(r#"{{"at": 1, "pad": "{}"}}"#, "x".repeat(400)))
        .send()
        .await
        .expect("post");
    assert_eq!(big.status(), 413);
    let cross = d
        .http
        .post(&url)
        .header("sec-fetch-site", "cross-site")
        .body(r#"{"at": 1}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(cross.status(), 403);
}
