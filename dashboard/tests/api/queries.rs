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
