//! `GET /api/openapi.json`: the API's OpenAPI 3.1 description.

use dashboard_api::{
    Business, Diagnosis, Drills, LogRecord, Report, Runs, ServiceDetail, ServiceView, Snapshot,
    StoreStats, Topology, TraceComparison, TraceDetail, TraceSummary,
};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// Adds `T`'s schema, and the schemas it refers to, to the document's components.
fn add_schema<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// The answer of every `GET` that returns one of the API types: `(path, schema)`, where the
/// schema is a `$ref` to the type or an array of it.
fn answers() -> Vec<(&'static str, Value)> {
    let one = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let many = |name: &str| json!({ "type": "array", "items": one(name) });
    vec![
        ("/api/services", many("ServiceView")),
        ("/api/services/{name}", one("ServiceDetail")),
        ("/api/services/{name}/cause", one("Diagnosis")),
        ("/api/cause", one("Diagnosis")),
        ("/api/traces", many("TraceSummary")),
        ("/api/traces/compare", one("TraceComparison")),
        ("/api/traces/{trace_id}", one("TraceDetail")),
        ("/api/logs", many("LogRecord")),
        ("/api/topology", one("Topology")),
        ("/api/business", one("Business")),
        ("/api/store", one("StoreStats")),
        ("/api/snapshot", one("Snapshot")),
        ("/api/drills", one("Drills")),
        ("/api/drills/runs", one("Runs")),
        ("/api/drills/runs/{id}", one("Report")),
    ]
}

/// The API types' JSON Schemas, from their one definition in `dashboard-api`.
fn type_schemas() -> serde_json::Map<String, Value> {
    let mut schemas = Vec::new();
    add_schema::<ServiceView>(&mut schemas);
    add_schema::<ServiceDetail>(&mut schemas);
    add_schema::<Diagnosis>(&mut schemas);
    add_schema::<TraceSummary>(&mut schemas);
    add_schema::<TraceDetail>(&mut schemas);
    add_schema::<TraceComparison>(&mut schemas);
    add_schema::<LogRecord>(&mut schemas);
    add_schema::<Topology>(&mut schemas);
    add_schema::<Business>(&mut schemas);
    add_schema::<StoreStats>(&mut schemas);
    add_schema::<Snapshot>(&mut schemas);
    add_schema::<Drills>(&mut schemas);
    add_schema::<Runs>(&mut schemas);
    add_schema::<Report>(&mut schemas);
    schemas
        .into_iter()
        .map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or_default()))
        .collect()
}

fn param(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn get(summary: &str, params: Vec<Value>) -> Value {
    json!({ "get": {
        "summary": summary,
        "parameters": params,
        "responses": {
            "200": { "description": "OK", "content": { "application/json": {} } },
            "400": { "description": "bad input", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        }
    }})
}

/// A state change: bearer control token, JSON body, same-site.
fn change(verb: &str, summary: &str, body: Option<&str>, ok: &str) -> Value {
    let mut op = json!({
        "summary": summary,
        "security": [{ "controlToken": [] }],
        "responses": {
            ok: { "description": "done", "content": { "application/json": {} } },
            "401": { "description": "no or wrong control token" },
            "403": { "description": "cross-site request (Sec-Fetch-Site / Origin)" },
            "404": { "description": "no such item" },
            "409": { "description": "conflict: cap reached, flag already set, drill running" },
            "415": { "description": "not a JSON body" },
            "422": { "description": "invalid (e.g. ttl_required, invalid_fault, drill_invalid)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        }
    });
    if let Some(b) = body {
        op["requestBody"] =
            json!({ "required": true, "description": b, "content": { "application/json": {} } });
    }
    json!({ verb: op })
}

fn path_param(name: &str) -> Value {
    json!([{ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }])
}

pub fn document() -> Value {
    let limit = |max: u32| {
        param(
            "limit",
            "how many to return",
            json!({ "type": "integer", "minimum": 1, "maximum": max }),
        )
    };
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": { "title": "Apiary dashboard API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Health, RED, traces, logs, topology and business KPIs of the Apiary stack." },
        "paths": {
            "/api/services": get("Every watched service: health (up|degraded|down|unknown), rps, error_rate, latency_ms {p50,p95,p99}, last_seen, memory_mib, restarts (seen since the dashboard started)", vec![]),
            "/api/services/{name}": { "get": {
                "summary": "One service: summary, per-route RED, 15 minutes of 1-second points, upstream and downstream",
                "parameters": [{ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": { "200": { "description": "OK" }, "404": { "description": "not watched" } } } },
            "/api/cause": get("Probable cause of what is red now: symptoms, ranked causes (service, link, traffic, broker, messages, business) with their evidence and over-represented span attributes, and the changes of the last five minutes; empty symptoms when everything is calm", vec![]),
            "/api/services/{name}/cause": { "get": {
                "summary": "The probable causes that explain this service's symptoms (as /api/cause, only the causes naming or explaining it)",
                "parameters": [{ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": { "200": { "description": "OK" }, "404": { "description": "not watched" } } } },
            "/api/seen": { "post": {
                "summary": "A browser's report that it rendered the snapshot with this `at` (sent when a service's health changed; a drill's time-to-detect breakdown reads it as \"the UI showed it\"). No token: it changes only a bounded log of report times; cross-site requests are refused",
                "requestBody": { "required": true, "content": { "text/plain": { "schema": { "type": "object", "required": ["at"], "additionalProperties": false, "properties": { "at": { "type": "integer", "minimum": 0 } } } } } },
                "responses": { "204": { "description": "noted" }, "400": { "description": "not {\"at\": <Unix ms>}" }, "403": { "description": "cross-site" }, "413": { "description": "over 256 bytes" } } } },
            "/api/traces": get("Trace search, newest first", vec![
                param("service", "only traces with a span of this service", json!({ "type": "string" })),
                param("status", "error (a failure: 5xx, timeout, refused call), rejected (a call answered 4xx, no failure) or ok (neither)", json!({ "type": "string", "enum": ["error", "rejected", "ok"] })),
                param("min_duration_ms", "minimum trace duration", json!({ "type": "number", "minimum": 0 })),
                param("route", "only traces with a span (of `service`, when given) serving this http.route", json!({ "type": "string", "maxLength": 200 })),
                param("from_ms", "only traces still running at or after this time (unix ms; not after to_ms)", json!({ "type": "integer", "minimum": 0, "maximum": 18_446_744_073_709_u64 })),
                param("to_ms", "only traces started by this time (unix ms)", json!({ "type": "integer", "minimum": 0, "maximum": 18_446_744_073_709_u64 })),
                limit(1000),
            ]),
            "/api/traces/compare": { "get": {
                "summary": "Two held traces side by side: spans matched by place (service and span name under matched parents), each pair's durations, and the spans only one has",
                "parameters": [
                    param("a", "the first trace's id (32 hex characters)", json!({ "type": "string", "pattern": "^[0-9a-fA-F]{32}$" })),
                    param("b", "the second trace's id", json!({ "type": "string", "pattern": "^[0-9a-fA-F]{32}$" })),
                ],
                "responses": { "200": { "description": "OK", "content": { "application/json": {} } },
                               "400": { "description": "a or b missing or malformed" },
                               "404": { "description": "a trace is not held" } } } },
            "/api/traces/{trace_id}": { "get": {
                "summary": "One trace: summary, spans (with attributes, events and each one's percentile among the same operation's spans of the last five minutes) and its logs",
                "parameters": [{ "name": "trace_id", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[0-9a-fA-F]{32}$" } }],
                "responses": { "200": { "description": "OK" }, "400": { "description": "malformed id" }, "404": { "description": "not held" } } } },
            "/api/logs": get("Log search, newest first", vec![
                param("service", "service name", json!({ "type": "string" })),
                param("severity", "minimum severity", json!({ "type": "string", "enum": ["trace", "debug", "info", "warn", "error", "fatal"] })),
                param("trace_id", "32-character hex trace id", json!({ "type": "string" })),
                param("q", "text in the body, case-insensitive", json!({ "type": "string", "maxLength": 200 })),
                param("after", "only logs that arrived after the one with this `seq` (every log carries its arrival number)", json!({ "type": "integer", "minimum": 0 })),
                limit(1000),
            ]),
            "/api/topology": get("Service graph from the last minute of spans: nodes with health, edges with rps, error_rate, p95_ms", vec![]),
            "/api/business": get("Shop KPIs over the last minute: orders/min, revenue/min, conversion, average order value, payment failures, stock-outs", vec![]),
            "/api/store": get("Telemetry store counts and limits, with evicted and refused items", vec![]),
            "/api/snapshot": get("The current snapshot (services with a 60-second rps sparkline, business, topology, store, fault intervals), as one event of /api/events carries it", vec![]),
            "/api/events": { "get": { "summary": "Server-sent events: a `snapshot` event (services, business, topology, store) with every scrape (twice a second)",
                                      "responses": { "200": { "description": "text/event-stream" },
                                                     "503": { "description": "Every event stream slot is taken (DASHBOARD_MAX_EVENT_STREAMS); retry after Retry-After seconds",
                                                              "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } } } },
        },
        "components": {
        "securitySchemes": { "controlToken": { "type": "http", "scheme": "bearer",
            "description": "APIARY_CONTROL_TOKEN, or <data_dir>/control.token" } },
        "schemas": { "Error": {
            "type": "object",
            "properties": { "error": { "type": "object", "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } }
        } } }
    });
    let paths = doc["paths"].as_object_mut().expect("paths object");
    let mut faults = get(
        "Active faults (with time left), the fault kinds, the caps",
        vec![],
    );
    faults["post"] = change(
        "post",
        "Turn a fault on",
        Some("{kind, ...parameters, ttl_s (required), reason}"),
        "201",
    )["post"]
        .clone();
    paths.insert("/api/faults".into(), faults);
    let mut one = change("delete", "Turn one fault off", None, "200");
    one["delete"]["parameters"] = path_param("id");
    paths.insert("/api/faults/{id}".into(), one);
    paths.insert(
        "/api/faults/reset".into(),
        change("post", "Turn every fault off", Some("{}"), "200"),
    );
    paths.insert(
        "/api/faults/audit".into(),
        get(
            "The audit log's last entries: who changed what, when",
            vec![limit(10_000)],
        ),
    );
    paths.insert(
        "/api/drills".into(),
        get(
            "Drill files with their problems (a drill with problems cannot run)",
            vec![],
        ),
    );
    let mut drill = get(
        "One drill: narrative, steady state, schedule, symptom, recovery, abort guard",
        vec![],
    );
    drill["get"]["parameters"] = path_param("name");
    paths.insert("/api/drills/{name}".into(), drill);
    let mut run = change(
        "post",
        "Run a drill in the background",
        Some("{time_scale: 0.05..1}"),
        "202",
    );
    run["post"]["parameters"] = path_param("name");
    paths.insert("/api/drills/{name}/run".into(), run);
    paths.insert("/api/drills/gameday".into(), change("post", "Random faults from an allowed set, seeded", Some("{seed, duration_s: 1..3600, interval_s: [min, max], fault_duration_s: [min, max] (seconds, 1..3600), allowed: [fault] (1..32)}"), "202"));
    paths.insert(
        "/api/drills/runs".into(),
        get(
            "Drill runs, newest first, with verdicts and times to detect and recover",
            vec![limit(
                u32::try_from(crate::control::runner::MAX_REPORTS).unwrap_or(u32::MAX),
            )],
        ),
    );
    let mut report = get(
        "One run's report (live while running): timeline, SLIs before/during/after, times",
        vec![],
    );
    report["get"]["parameters"] = path_param("id");
    paths.insert("/api/drills/runs/{id}".into(), report);
    let mut stop = change(
        "post",
        "Stop a running drill (its faults are rolled back)",
        Some("{}"),
        "202",
    );
    stop["post"]["parameters"] = path_param("id");
    paths.insert("/api/drills/runs/{id}/stop".into(), stop);
    paths.insert(
        "/api/load".into(),
        get("The load generator's status", vec![]),
    );
    let mut load = change(
        "post",
        "Change the load generator: rate, profile, pause, resume",
        Some("as the load generator's control API"),
        "200",
    );
    load["post"]["parameters"] = path_param("action");
    paths.insert("/api/load/{action}".into(), load);
    let mut scale = get(
        "Every service's instances (id, url, pid), from the launcher running the stack (503 no_launcher in compose and Kubernetes, where the orchestrator scales)",
        vec![],
    );
    scale["post"] = change(
        "post",
        "Run N instances of a service that keeps no state: new ones join once ready, surplus ones leave the balancers and then drain",
        Some("{service, replicas: 1..8, reason}"),
        "200",
    )["post"]
        .clone();
    paths.insert("/api/scale".into(), scale);
    for (path, schema) in answers() {
        if let Some(ok) = doc["paths"][path]["get"]["responses"]["200"].as_object_mut() {
            ok.insert("description".into(), "OK".into());
            ok.insert(
                "content".into(),
                json!({ "application/json": { "schema": schema } }),
            );
        }
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        schemas.extend(type_schemas());
    }
    doc
}
