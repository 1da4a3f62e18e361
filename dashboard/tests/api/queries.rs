use prost::Message;

use crate::helpers::{TestSpan, logs_request, spans_request, spawn_default};

#[tokio::test]
async fn traces_are_searchable_and_carry_their_logs_and_the_topology() {
    let d = spawn_default().await;
    // Trace 7: gateway server -> gateway client -> catalog server (error, slow).
    let gateway = [
        TestSpan {
            trace: 7,
            id: 1,
            parent: None,
            name: "GET /api/products",
            kind: 2,
            start_ms: 0,
            duration_ms: 300,
            error: true,
        },
        TestSpan {
            trace: 7,
            id: 2,
            parent: Some(1),
            name: "GET /products",
            kind: 3,
            start_ms: 10,
            duration_ms: 250,
            error: true,
        },
    ];
    let catalog = [TestSpan {
        trace: 7,
        id: 3,
        parent: Some(2),
        name: "GET /products",
        kind: 2,
        start_ms: 20,
        duration_ms: 200,
        error: true,
    }];
    let fast = [TestSpan {
        trace: 8,
        id: 9,
        parent: None,
        name: "GET /api/products/{id}",
        kind: 2,
        start_ms: 0,
        duration_ms: 2,
        error: false,
    }];
    for req in [
        spans_request("gateway", &gateway),
        spans_request("catalog", &catalog),
        spans_request("gateway", &fast),
    ] {
        assert_eq!(
            d.post_otlp("/v1/traces", "application/x-protobuf", req.encode_to_vec())
                .await
                .status(),
            200
        );
    }
    let log = logs_request("catalog", 7, 3, "product store timed out", 17);
    assert_eq!(
        d.post_otlp("/v1/logs", "application/x-protobuf", log.encode_to_vec())
            .await
            .status(),
        200
    );

    let (_, all) = d.get_json("/api/traces?service=gateway").await;
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    let (_, errors) = d
        .get_json("/api/traces?status=error&min_duration_ms=100")
        .await;
    assert_eq!(errors.as_array().map(Vec::len), Some(1), "{errors}");
    let t = &errors[0];
    assert_eq!(t["root_service"], "gateway");
    assert_eq!(t["span_count"], 3);
    assert_eq!(t["services"], serde_json::json!(["catalog", "gateway"]));
    let (_, none) = d
        .get_json("/api/traces?status=ok&min_duration_ms=100")
        .await;
    assert_eq!(none, serde_json::json!([]));

    let id = t["trace_id"].as_str().expect("id").to_owned();
    let (status, trace) = d.get_json(&format!("/api/traces/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(trace["spans"].as_array().map(Vec::len), Some(3));
    assert_eq!(trace["logs"][0]["body"], "product store timed out");
    assert_eq!(trace["logs"][0]["span_id"], "0303030303030303");

    let (_, logs) = d
        .get_json("/api/logs?severity=error&q=TIMED&service=catalog")
        .await;
    assert_eq!(logs.as_array().map(Vec::len), Some(1), "{logs}");
    let (_, logs) = d.get_json(&format!("/api/logs?trace_id={id}")).await;
    assert_eq!(logs.as_array().map(Vec::len), Some(1), "{logs}");
    let (_, logs) = d.get_json("/api/logs?severity=fatal").await;
    assert_eq!(logs, serde_json::json!([]));

    // Each log carries its arrival number; `after` returns only what arrived later (what a
    // live tail asks for every second).
    let later_log = logs_request("gateway", 8, 4, "slow answer from catalog", 13);
    assert_eq!(
        d.post_otlp(
            "/v1/logs",
            "application/x-protobuf",
            later_log.encode_to_vec()
        )
        .await
        .status(),
        200
    );
    let all = d
        .eventually("/api/logs", |l| l.as_array().map(Vec::len) == Some(2))
        .await;
    let seqs: Vec<u64> = all
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| l["seq"].as_u64().expect("a seq"))
        .collect();
    assert!(!seqs.is_empty(), "{all}");
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    let newest = seqs[0];
    let (_, none) = d.get_json(&format!("/api/logs?after={newest}")).await;
    assert_eq!(
        none,
        serde_json::json!([]),
        "nothing arrived after the newest"
    );
    let (_, later) = d.get_json(&format!("/api/logs?after={}", seqs[1])).await;
    assert_eq!(later.as_array().map(Vec::len), Some(1), "{later}");
    assert_eq!(later[0]["seq"], newest);
    assert_eq!(later[0]["body"], "slow answer from catalog");
    let (_, of_gateway) = d
        .get_json(&format!("/api/logs?service=gateway&after={}", seqs[1]))
        .await;
    assert_eq!(of_gateway, later, "after works per service too");

    let topo = d
        .eventually("/api/topology", |t| {
            t["edges"].as_array().is_some_and(|e| !e.is_empty())
        })
        .await;
    assert_eq!(topo["edges"][0]["from"], "gateway");
    assert_eq!(topo["edges"][0]["to"], "catalog");
    assert_eq!(topo["edges"][0]["error_rate"], 1.0);
}

#[tokio::test]
async fn bad_queries_get_a_400_with_a_json_error() {
    let d = spawn_default().await;
    for path in [
        "/api/traces?status=maybe",
        "/api/traces?min_duration_ms=-1",
        "/api/traces?limit=0",
        "/api/traces?limit=5000",
        "/api/traces/not-hex",
        "/api/logs?severity=loud",
        "/api/logs?trace_id=123",
        "/api/logs?after=yesterday",
    ] {
        let (status, body) = d.get_json(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{path}");
    }
    let (status, body) = d
        .get_json("/api/traces/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &serde_json::json!("not_found"))
    );
    let (status, _) = d.get_json("/api/services/nobody").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_api_documents_itself_and_streams_snapshots() {
    let d = spawn_default().await;
    let (_, doc) = d.get_json("/api/openapi.json").await;
    for path in [
        "/api/services",
        "/api/traces",
        "/api/logs",
        "/api/topology",
        "/api/business",
        "/api/events",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} undocumented");
    }
    // Every answer that is one of the API types names its schema, and the schema is there.
    for path in [
        "/api/services",
        "/api/services/{name}",
        "/api/traces/{trace_id}",
        "/api/snapshot",
        "/api/drills/runs/{id}",
    ] {
        let schema =
            &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        let reference = schema["$ref"]
            .as_str()
            .or_else(|| schema["items"]["$ref"].as_str())
            .unwrap_or_else(|| panic!("{path}: no schema in {schema}"));
        let name = reference.trim_start_matches("#/components/schemas/");
        let component = &doc["components"]["schemas"][name];
        assert!(
            component["properties"].is_object() || component["allOf"].is_array(),
            "{path}: {name} has no schema: {component}"
        );
    }
    assert!(
        doc["components"]["schemas"]["ServiceView"]["properties"]["carts_lost_per_min"].is_null()
            && doc["components"]["schemas"]["Business"]["properties"]["carts_lost_per_min"]
                .is_object(),
        "the schemas are the shared types'"
    );
    // And what the API answers reads as those types.
    let (_, services) = d.get_json("/api/services").await;
    serde_json::from_value::<Vec<dashboard_api::ServiceView>>(services).expect("services");
    let (_, snapshot) = d.get_json("/api/snapshot").await;
    serde_json::from_value::<dashboard_api::Snapshot>(snapshot).expect("snapshot");
    let mut resp = d
        .http
        .get(format!("{}/api/events", d.api))
        .send()
        .await
        .expect("sse");
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    while !text.contains("event: snapshot") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), resp.chunk())
            .await
            .expect("a snapshot within 5 s")
            .expect("chunk")
            .expect("open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("\"services\""), "{text}");
}

/// Issue 17, part 4: each span ranked against its operation's recent spans, two traces side
/// by side, and a search narrowed to a chart point's second.
#[tokio::test]
async fn spans_are_ranked_traces_compare_and_searches_narrow_to_a_window() {
    let d = spawn_default().await;
    // Traces 100..=129: a gateway "GET /a" of 1..=30 ms; the first and the last also call
    // catalog, and the last calls pricing too.
    let mut gateway = Vec::new();
    for t in 100u8..=129 {
        gateway.push(TestSpan {
            trace: t,
            id: 1,
            parent: None,
            name: "GET /a",
            kind: 2,
            start_ms: 0,
            duration_ms: u64::from(t - 99),
            error: false,
        });
    }
    let child = |trace: u8, id: u8, name: &'static str, duration_ms: u64| TestSpan {
        trace,
        id,
        parent: Some(1),
        name,
        kind: 2,
        start_ms: 0,
        duration_ms,
        error: false,
    };
    let catalog = [child(100, 2, "GET /x", 1), child(129, 2, "GET /x", 20)];
    let pricing = [child(129, 3, "GET /p", 2)];
    for req in [
        spans_request("gateway", &gateway),
        spans_request("catalog", &catalog),
        spans_request("pricing", &pricing),
    ] {
        let status = d
            .post_otlp("/v1/traces", "application/x-protobuf", req.encode_to_vec())
            .await
            .status();
        assert_eq!(status, 200);
    }
    // Trace ids as hex: 100 is 0x64, 129 is 0x81.
    let fast = "64".repeat(16);
    let slow = "81".repeat(16);

    let (status, trace) = d.get_json(&format!("/api/traces/{slow}")).await;
    assert_eq!(status, 200, "{trace}");
    let spans = trace["spans"].as_array().expect("spans");
    let root = spans.iter().find(|s| s["name"] == "GET /a").expect("root");
    let p = &root["percentile"];
    assert_eq!(p["samples"], 30, "{p}");
    assert!(p["rank"].as_f64().expect("rank") > 95.0, "{p}");
    assert_eq!(p["p50_ms"], 15.0, "{p}");
    assert_eq!(p["window_s"], 300, "{p}");
    let catalog_span = spans.iter().find(|s| s["name"] == "GET /x").expect("child");
    assert!(
        catalog_span.get("percentile").is_none(),
        "two spans of an operation are too few to rank: {catalog_span}"
    );

    let (status, c) = d
        .get_json(&format!("/api/traces/compare?a={fast}&b={slow}"))
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        (
            c["matched"].as_u64(),
            c["only_a"].as_u64(),
            c["only_b"].as_u64()
        ),
        (Some(2), Some(0), Some(1)),
        "{c}"
    );
    assert_eq!(c["rows"][0]["name"], "GET /a");
    assert_eq!(c["rows"][0]["a"]["duration_ms"], 1.0);
    assert_eq!(c["rows"][0]["b"]["duration_ms"], 30.0);
    assert_eq!(c["rows"][1]["depth"], 1);
    let only_b = c["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["a"].is_null())
        .expect("a span only b has");
    assert_eq!(only_b["service"], "pricing");
    assert_eq!(c["b"]["trace_id"], slow);

    // A window: the spans started 5 s ago and lasted at most 30 ms.
    let now_ms = crate::helpers::now_nanos() / 1_000_000;
    let (_, recent) = d
        .get_json(&format!(
            "/api/traces?limit=1000&from_ms={}&to_ms={now_ms}",
            now_ms - 60_000
        ))
        .await;
    assert_eq!(recent.as_array().map(Vec::len), Some(30), "{recent}");
    let (_, later) = d
        .get_json(&format!("/api/traces?from_ms={}", now_ms + 60_000))
        .await;
    assert_eq!(later, serde_json::json!([]));
    let (_, earlier) = d
        .get_json(&format!("/api/traces?to_ms={}", now_ms - 60_000))
        .await;
    assert_eq!(earlier, serde_json::json!([]));
    let (_, rejected) = d.get_json("/api/traces?status=rejected").await;
    assert_eq!(rejected, serde_json::json!([]), "no call was answered 4xx");

    for (path, code) in [
        (format!("/api/traces/compare?a={fast}"), 400),
        (format!("/api/traces/compare?a={fast}&b=nothex"), 400),
        (
            format!("/api/traces/compare?a={fast}&b={}", "0".repeat(32)),
            404,
        ),
        ("/api/traces?from_ms=yesterday".to_owned(), 400),
        ("/api/traces?from_ms=2000&to_ms=1000".to_owned(), 400),
        ("/api/traces?to_ms=99999999999999999999".to_owned(), 400),
        (format!("/api/traces?route={}", "r".repeat(201)), 400),
    ] {
        let (status, body) = d.get_json(&path).await;
        assert_eq!(status, code, "{path}: {body}");
        assert!(body["error"]["message"].is_string(), "{path}: {body}");
    }
}
