//! The UI on the API listener: pages rendered on the server from the live snapshot, bundle
//! files served from the site root and nothing outside it, the snapshot endpoint.

use std::time::Duration;

use dashboard::Config;
use dashboard::monitor::Target;

use crate::helpers::spawn;

const JS: &str = "export default function init() { return 'apiary'.repeat(64); }";

fn site_root() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dashboard-ui-site-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("pkg")).expect("site dir");
    std::fs::write(dir.join("pkg/dashboard.css"), "body{}").expect("css");
    // As apiary-ui-build leaves it: the file and its gzip twin.
    std::fs::write(dir.join("pkg/dashboard.js"), JS).expect("js");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, JS.as_bytes()).expect("gzip");
    std::fs::write(dir.join("pkg/dashboard.js.gz"), gz.finish().expect("gzip")).expect("js.gz");
    std::fs::write(dir.join("secret.txt"), "no").expect("secret");
    dir
}

#[tokio::test]
async fn pages_render_the_watched_services_and_the_bundle_is_served_from_the_site_root() {
    let mut config = Config::for_tests();
    config.scrape_interval = Duration::from_millis(200);
    let site = site_root();
    config.site_root = Some(site.clone());
    // Nothing listens on port 9 of loopback: the service is judged down.
    let d = spawn(
        config,
        vec![Target {
            name: "ghost".into(),
            base_url: "http://127.0.0.1:9".into(),
            slo: Default::default(),
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
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/css"),
        "{:?}",
        css.headers()
    );
    assert_eq!(css.headers()["cache-control"], "no-cache");
    let modified = css.headers()["last-modified"].clone();
    let again = d
        .http
        .get(format!("{}/pkg/dashboard.css", d.api))
        .header("if-modified-since", modified)
        .send()
        .await
        .expect("css revalidated");
    assert_eq!(again.status(), 304, "an unchanged bundle is not sent again");

    // The precompressed twin goes to a browser that accepts gzip, the plain file to others.
    let gz = d
        .http
        .get(format!("{}/pkg/dashboard.js", d.api))
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .expect("js gzip");
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert!(
        gz.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .contains("javascript")
    );
    let body = gz.bytes().await.expect("gz body");
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain)
        .expect("a gzip body");
    assert_eq!(plain, JS);
    let twin = std::fs::read(site.join("pkg/dashboard.js.gz")).expect("the twin");
    assert_eq!(
        &body[..],
        &twin[..],
        "the precompressed file itself is sent"
    );
    let identity = d
        .http
        .get(format!("{}/pkg/dashboard.js", d.api))
        .send()
        .await
        .expect("js");
    assert!(identity.headers().get("content-encoding").is_none());
    assert_eq!(identity.text().await.expect("js"), JS);

    // Pages are compressed on the fly; the event stream never is.
    let page = d
        .http
        .get(format!("{}/", d.api))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("overview gzip");
    assert_eq!(page.headers()["content-encoding"], "gzip");
    let stream = d
        .http
        .get(format!("{}/api/events", d.api))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("event stream");
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers().get("content-encoding").is_none(),
        "a compressed event stream would sit in the compressor's buffer"
    );
    drop(stream);

    for path in ["/pkg/..%2Fsecret.txt", "/pkg/missing.wasm", "/pkg/.hidden"] {
        let (status, body) = d.get_json(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }
}
