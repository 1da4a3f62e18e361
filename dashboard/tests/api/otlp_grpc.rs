//! OTLP/gRPC refusals carry the codes the OTLP specification gives, so exporters retry what is
//! retryable and drop what never will be.

use bytes::{Buf, BufMut};
use dashboard::Config;
use prost::Message;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic_types::StatusExt;

use crate::helpers::{TestDashboard, TestSpan, spans_request, spawn, spawn_default};

/// Sends bytes as they are, so a test can send what no encoder would.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

#[derive(Debug)]
struct Raw;

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        Ok(Some(bytes.to_vec()))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

async fn export_raw(d: &TestDashboard, body: Vec<u8>) -> Result<Vec<u8>, tonic::Status> {
    export_raw_to(&d.otlp_grpc, None, body).await
}

async fn export_raw_to(
    url: &str,
    key: Option<&'static str>,
    body: Vec<u8>,
) -> Result<Vec<u8>, tonic::Status> {
    let channel = tonic::transport::Channel::from_shared(url.to_owned())
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let mut request = tonic::Request::new(body);
    if let Some(key) = key {
        request.metadata_mut().insert(
            "x-api-key",
            tonic::metadata::MetadataValue::from_static(key),
        );
    }
    grpc.unary(
        request,
        PathAndQuery::from_static("/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
        RawCodec,
    )
    .await
    .map(tonic::Response::into_inner)
}

fn spans(n: u8) -> Vec<u8> {
    let spans: Vec<TestSpan> = (1..=n)
        .map(|i| TestSpan {
            trace: i,
            id: i,
            parent: None,
            name: "GET /x",
            kind: 2,
            start_ms: 0,
            duration_ms: 1,
            error: false,
        })
        .collect();
    spans_request("grpc", &spans).encode_to_vec()
}

#[tokio::test]
async fn undecodable_input_is_invalid_argument() {
    let d = spawn_default().await;
    assert!(
        export_raw(&d, spans(1)).await.is_ok(),
        "a good request passes"
    );
    // Field 1 (resource_spans) announcing 100 bytes that are not there.
    let status = export_raw(&d, vec![0x0a, 100, 0xff, 0xff])
        .await
        .expect_err("undecodable");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_resource_exhausted() {
    let mut config = Config::for_tests();
    config.body_limit = 1024;
    let d = spawn(config, Vec::new()).await;
    let status = export_raw(&d, vec![0; 4096]).await.expect_err("too large");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
}

/// Over the ingest budget: RESOURCE_EXHAUSTED with a RetryInfo delay, which is what makes an
/// OTLP exporter retry instead of dropping the batch.
#[tokio::test]
async fn over_the_budget_is_resource_exhausted_with_a_retry_delay() {
    let mut config = Config::for_tests();
    config.ingest_budget = 2;
    let d = spawn(config, Vec::new()).await;
    let status = export_raw(&d, spans(3)).await.expect_err("over budget");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let retry = status.get_details_retry_info().expect("retry info");
    assert_eq!(retry.retry_delay, Some(std::time::Duration::from_secs(1)));
}

/// With the budget spent, a message is refused before it is decoded: even an undecodable one
/// is RESOURCE_EXHAUSTED (retry later), not INVALID_ARGUMENT.
#[tokio::test]
async fn with_the_budget_spent_a_message_is_refused_before_it_is_decoded() {
    let mut config = Config::for_tests();
    config.ingest_budget = 1;
    let d = spawn(config, Vec::new()).await;
    // The budget refills by one item a second; a slow machine may refill it between the two
    // calls, so a few tries are allowed.
    let mut refused = None;
    for _ in 0..5 {
        let _ = export_raw(&d, spans(1)).await;
        match export_raw(&d, vec![0x0a, 100, 0xff, 0xff]).await {
            Err(status) if status.code() == Code::ResourceExhausted => {
                refused = Some(status);
                break;
            }
            Err(status) => assert_eq!(status.code(), Code::InvalidArgument, "{status:?}"),
            Ok(_) => panic!("garbage accepted"),
        }
    }
    let status = refused.expect("garbage is refused for the budget, not decoded");
    assert!(status.get_details_retry_info().is_some(), "{status:?}");
}

/// Off loopback the key is checked before the message is decoded.
#[tokio::test]
async fn without_the_key_a_message_is_unauthenticated() {
    let app = dashboard::Application::build_with_targets(Config::for_tests(), Vec::new())
        .await
        .expect("build")
        .with_access(dashboard::startup::Access::Token {
            token: "tok3n".into(),
            api_key: "k3y".into(),
        });
    let url = format!("http://127.0.0.1:{}", app.otlp_grpc_port());
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let status = export_raw_to(&url, None, vec![0x0a, 100, 0xff])
        .await
        .expect_err("no key");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = export_raw_to(&url, Some("wrong"), spans(1))
        .await
        .expect_err("wrong key");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(export_raw_to(&url, Some("k3y"), spans(1)).await.is_ok());
}
