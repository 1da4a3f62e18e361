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
    let channel = tonic::transport::Channel::from_shared(d.otlp_grpc.clone())
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    grpc.unary(
        tonic::Request::new(body),
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
