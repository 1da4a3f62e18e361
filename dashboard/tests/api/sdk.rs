//! Payloads from the real OpenTelemetry SDK encoder (through `apiary-telemetry`'s pipeline and
//! the OTLP/HTTP exporter), as protobuf and as JSON.

use std::time::Duration;

use apiary_telemetry::{Pipeline, ServiceInfo, TelemetryConfig};
use tracing_subscriber::layer::SubscriberExt;

use crate::helpers::spawn_default;

async fn export_one_trace(otlp_http: &str, service: &'static str, json: bool) {
    let config = TelemetryConfig::from_env(&[("RUST_LOG", "info")]).expect("config");
    let info = ServiceInfo {
        name: service,
        version: "9.9.9",
    };
    let pipeline = Pipeline::otlp_http_to(
        apiary_telemetry::resource(info, &config),
        config,
        otlp_http,
        json,
    )
    .expect("pipeline");
    let subscriber = tracing_subscriber::registry().with(pipeline.layers());
    let guard = pipeline.into_guard();
    {
        let _default = tracing::subscriber::set_default(subscriber);
        let span = tracing::info_span!(
            "checkout",
            otel.name = "POST /checkout",
            otel.kind = "server",
            payment.outcome = "declined"
        );
        let _entered = span.enter();
        tracing::warn!(reason = "insufficient_funds", "card declined");
    }
    guard.flush(Duration::from_secs(5)).await;
    guard.shutdown().await;
}

#[tokio::test]
async fn spans_and_logs_from_the_sdk_arrive_as_protobuf_and_as_json() {
    for (service, json) in [("sdk-proto", false), ("sdk-json", true)] {
        let d = spawn_default().await;
        export_one_trace(&d.otlp_http, service, json).await;
        let traces = d
            .eventually(&format!("/api/traces?service={service}"), |v| {
                v.as_array().is_some_and(|a| !a.is_empty())
            })
            .await;
        assert_eq!(traces[0]["root_name"], "POST /checkout", "{traces}");
        let id = traces[0]["trace_id"].as_str().expect("trace id").to_owned();
        let trace = d
            .eventually(&format!("/api/traces/{id}"), |t| {
                t["logs"].as_array().is_some_and(|l| !l.is_empty())
            })
            .await;
        let span = &trace["spans"][0];
        assert_eq!(span["kind"], "server");
        assert_eq!(span["attributes"]["payment.outcome"], "declined");
        let log = &trace["logs"][0];
        assert_eq!(log["body"], "card declined", "{trace}");
        assert_eq!(log["span_id"], span["span_id"]);
        assert_eq!(log["attributes"]["reason"], "insufficient_funds");
    }
}
