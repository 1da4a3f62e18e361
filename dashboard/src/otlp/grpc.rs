//! OTLP/gRPC (port 4317): the collector services from opentelemetry-proto, served by tonic.

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
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use super::{Ingest, OverBudget};
use crate::security::ApiKey;

#[derive(Debug, Clone)]
pub struct Receiver {
    ingest: Arc<Ingest>,
    key: ApiKey,
}

fn over_budget(_: OverBudget) -> Status {
    // OTLP/gRPC: UNAVAILABLE is retryable; the exporter backs off.
    Status::unavailable("ingest budget exceeded; retry later")
}

impl Receiver {
    fn check<T>(&self, req: &Request<T>) -> Result<(), Status> {
        let given = req
            .metadata()
            .get(crate::security::API_KEY_HEADER)
            .and_then(|v| v.to_str().ok());
        if self.key.accepts(given) {
            Ok(())
        } else {
            Err(Status::unauthenticated("missing or wrong x-api-key"))
        }
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        req: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.check(&req)?;
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
        self.check(&req)?;
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
        self.check(&req)?;
        self.ingest
            .metrics(req.get_ref())
            .map(Response::new)
            .map_err(over_budget)
    }
}

/// Serves the three OTLP services on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ingest: Arc<Ingest>,
    key: ApiKey,
    body_limit: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let receiver = Receiver { ingest, key };
    tonic::transport::Server::builder()
        .add_service(
            TraceServiceServer::new(receiver.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(body_limit),
        )
        .add_service(
            LogsServiceServer::new(receiver.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(body_limit),
        )
        .add_service(
            MetricsServiceServer::new(receiver)
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(body_limit),
        )
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            shutdown,
        )
        .await
}
