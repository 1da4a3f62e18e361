//! `GET /api/openapi.json`: the API's OpenAPI 3.1 description.

use serde_json::{Value, json};

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

pub fn document() -> Value {
    let limit = |max: u32| {
        param(
            "limit",
            "how many to return",
            json!({ "type": "integer", "minimum": 1, "maximum": max }),
        )
    };
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Apiary dashboard API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Health, RED, traces, logs, topology and business KPIs of the Apiary stack." },
        "paths": {
            "/api/services": get("Every watched service: health (up|degraded|down|unknown), rps, error_rate, latency_ms {p50,p95,p99}, last_seen", vec![]),
            "/api/services/{name}": { "get": {
                "summary": "One service: summary, per-route RED, 15 minutes of 1-second points, upstream and downstream",
                "parameters": [{ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": { "200": { "description": "OK" }, "404": { "description": "not watched" } } } },
            "/api/traces": get("Trace search, newest first", vec![
                param("service", "only traces with a span of this service", json!({ "type": "string" })),
                param("status", "error or ok", json!({ "type": "string", "enum": ["error", "ok"] })),
                param("min_duration_ms", "minimum trace duration", json!({ "type": "number", "minimum": 0 })),
                limit(1000),
            ]),
            "/api/traces/{trace_id}": { "get": {
                "summary": "One trace: summary, spans (with attributes and events) and its logs",
                "parameters": [{ "name": "trace_id", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[0-9a-fA-F]{32}$" } }],
                "responses": { "200": { "description": "OK" }, "400": { "description": "malformed id" }, "404": { "description": "not held" } } } },
            "/api/logs": get("Log search, newest first", vec![
                param("service", "service name", json!({ "type": "string" })),
                param("severity", "minimum severity", json!({ "type": "string", "enum": ["trace", "debug", "info", "warn", "error", "fatal"] })),
                param("trace_id", "32-character hex trace id", json!({ "type": "string" })),
                param("q", "text in the body, case-insensitive", json!({ "type": "string", "maxLength": 200 })),
                limit(1000),
            ]),
            "/api/topology": get("Service graph from the last minute of spans: nodes with health, edges with rps, error_rate, p95_ms", vec![]),
            "/api/business": get("Shop KPIs over the last minute: orders/min, revenue/min, conversion, average order value, payment failures, stock-outs", vec![]),
            "/api/store": get("Telemetry store counts and limits, with evicted and refused items", vec![]),
            "/api/snapshot": get("The current snapshot (services with a 60-second rps sparkline, business, topology, store, fault intervals), as one event of /api/events carries it", vec![]),
            "/api/events": { "get": { "summary": "Server-sent events: a `snapshot` event (services, business, topology, store) every second",
                                      "responses": { "200": { "description": "text/event-stream" } } } },
        },
        "components": { "schemas": { "Error": {
            "type": "object",
            "properties": { "error": { "type": "object", "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } }
        } } }
    })
}
