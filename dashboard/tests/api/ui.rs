//! The UI on the API listener: pages rendered on the server from the live snapshot, bundle
//! files served from the site root and nothing outside it, the snapshot endpoint.

use std::time::Duration;

use dashboard::Config;
use dashboard::monitor::Target;

use crate::helpers::spawn;

fn site_root() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dashboard-ui-site-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("pkg")).expect("site dir");
    std::fs::write(dir.join("pkg/dashboard.css"), "body{}").expect("css");
    std::fs::write(dir.join("secret.txt"), "no").expect("secret");
    dir
}

#[tokio::test]
async fn pages_render_the_watched_services_and_the_bundle_is_served_from_the_site_root() {
    let mut config = Config::for_tests();
    config.scrape_interval = Duration::from_millis(200);
    config.site_root = Some(site_root());
    // Nothing listens on port 9 of loopback: the service is judged down.
    let d = spawn(
        config,
        vec![Target {
            name: "ghost".into(),
            base_url: "http://127.0.0.1:9".into(),
        }],
    )
    .await;
    let snap = d
        .eventually("/api/snapshot", |v| v["services"][0]["health"] == "down")
        .await;
    assert_eq!(snap["faults"], serde_json::json!([]), "no faults exist yet");
    assert!(snap["services"][0]["recent_rps"].is_array());

    let page = d
        .http
        .get(format!("{}/", d.api))
        .send()
        .await
        .expect("overview");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let html = page.text().await.expect("html");
    assert!(html.contains(r#"id="initial-snapshot""#), "{html}");
    assert!(html.contains(r#"data-service="ghost""#), "{html}");
    assert!(
        html.contains("tile h-down"),
        "the tile shows the health: {html}"
    );
    assert!(
        html.contains("/pkg/dashboard.wasm"),
        "the page loads the bundle"
    );

    let service = d
        .http
        .get(format!("{}/services/ghost", d.api))
        .send()
        .await
        .expect("service page");
    assert_eq!(service.status(), 200);
    assert!(service.text().await.expect("html").contains("ghost"));

    let css = d
        .http
        .get(format!("{}/pkg/dashboard.css", d.api))
        .send()
        .await
        .expect("css");
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");

    for path in ["/pkg/..%2Fsecret.txt", "/pkg/missing.wasm", "/pkg/.hidden"] {
        let (status, body) = d.get_json(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }
}
