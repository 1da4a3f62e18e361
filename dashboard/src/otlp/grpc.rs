//! OTLP/gRPC (port 4317): the collector services from opentelemetry-proto, served by tonic,
//! answering with the codes the OTLP specification gives: INVALID_ARGUMENT for input that
//! cannot be decoded (not retried), RESOURCE_EXHAUSTED for a message over the size limit,
//! and RESOURCE_EXHAUSTED with a `RetryInfo` delay when the ingest budget is spent (the
//! exporter retries only when the delay is there) — decided from the metadata, before the
//! message is decoded, like the key.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::time::Duration;

use tonic::codec::CompressionEncoding;
use tonic::service::interceptor::InterceptedService;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::{Ingest, OverBudget};
use crate::security::ApiKey;

#[derive(Debug, Clone)]
pub struct Receiver {
    ingest: Arc<Ingest>,
    key: ApiKey,
}

/// How long a sender over the budget is asked to wait (the budget refills every second).
const RETRY_DELAY: Duration = Duration::from_secs(1);

fn over_budget(_: OverBudget) -> Status {
    Status::with_error_details(
        Code::ResourceExhausted,
        "ingest budget exceeded; retry later",
        ErrorDetails::with_retry_info(Some(RETRY_DELAY)),
    )
}

/// tonic answers a message it cannot decode (or decompress) with INTERNAL and one over the
/// size limit with OUT_OF_RANGE, both before our handlers run, as a headers-only response.
/// OTLP wants INVALID_ARGUMENT and RESOURCE_EXHAUSTED: the sender must not retry the first,
/// and should treat the second as its own mistake, not the server's. Our handlers never
/// answer either code, so the mapping only touches tonic's own refusals.
fn otlp_status_codes<B>(mut resp: axum::http::Response<B>) -> axum::http::Response<B> {
    let mapped = match resp
        .headers()
        .get(Status::GRPC_STATUS)
        .map(|v| v.as_bytes())
    {
        Some(b"13") => Code::InvalidArgument,
        Some(b"11") => Code::ResourceExhausted,
        _ => return resp,
    };
    resp.headers_mut()
        .insert(Status::GRPC_STATUS, (mapped as i32).into());
    resp
}

impl Receiver {
    /// Runs on the request's metadata before its message is decoded (a tonic interceptor):
    /// a wrong key, or a spent ingest budget, costs the receiver no decoding.
    fn admit(&self, req: Request<()>) -> Result<Request<()>, Status> {
        let given = req
            .metadata()
            .get(crate::security::API_KEY_HEADER)
            .and_then(|v| v.to_str().ok());
        if !self.key.accepts(given) {
            return Err(Status::unauthenticated("missing or wrong x-api-key"));
        }
        if !self.ingest.has_budget() {
            return Err(over_budget(OverBudget));
        }
        Ok(req)
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        req: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.ingest
            .traces(req.get_ref())
            .map(Response::new)
            .map_err(over_budget)
    }
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        req: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.ingest
            .logs(req.get_ref())
            .map(Response::new)
            .map_err(over_budget)
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        req: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.ingest
            .metrics(req.get_ref())
            .map(Response::new)
            .map_err(over_budget)
    }
}

/// Serves the three OTLP services on `listener` until `shutdown`, and the flag sync service
/// when there are flags to sync (the control plane is on).
pub async fn serve(
    listener: tokio::net::TcpListener,
    ingest: Arc<Ingest>,
    key: ApiKey,
    body_limit: usize,
    flags: Option<tokio::sync::watch::Receiver<String>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let receiver = Receiver { ingest, key };
    let admit = {
        let receiver = receiver.clone();
        move |req: Request<()>| receiver.admit(req)
    };
    tonic::transport::Server::builder()
        .layer(tower::util::MapResponseLayer::new(otlp_status_codes))
        .add_service(InterceptedService::new(
            TraceServiceServer::new(receiver.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(body_limit),
            admit.clone(),
        ))
        .add_service(InterceptedService::new(
            LogsServiceServer::new(receiver.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(body_limit),
            admit.clone(),
        ))
        .add_service(InterceptedService::new(
            MetricsServiceServer::new(receiver)
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(body_limit),
            admit,
        ))
        .add_optional_service(flags.map(crate::control::flagsync::FlagSync::server))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            shutdown,
        )
        .await
}
