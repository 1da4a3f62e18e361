//! The fault flags as a flagd sync source: flagd's own `flagd.sync.v1.FlagSyncService` (the
//! generated server of the OpenFeature flagd crate), on the dashboard's gRPC port beside OTLP.
//! The control plane is the flags' source of truth; wherever the services run, they see a
//! change the moment it is made:
//! - a flagd daemon syncs from it (`flagd start --uri grpc://dashboard:4317`, compose and
//!   Kubernetes) and serves the services' in-process providers;
//! - or a service's in-process provider syncs from it directly (`FLAGD_RESOLVER=in-process`,
//!   `FLAGD_HOST`/`FLAGD_PORT` = the dashboard; `apiary up` with `[faults] source = "dashboard"`).
//!
//! Read-only and unauthenticated, like flagd's own sync port: it carries the fault flags (what
//! is broken, on purpose), never a secret; changing them needs the control token.

use std::pin::Pin;

use open_feature_flagd::flagd::sync::v1::flag_sync_service_server::{
    FlagSyncService, FlagSyncServiceServer,
};
use open_feature_flagd::flagd::sync::v1::{
    FetchAllFlagsRequest, FetchAllFlagsResponse, GetMetadataRequest, GetMetadataResponse,
    SyncFlagsRequest, SyncFlagsResponse,
};
use tokio::sync::watch;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

/// Streams the flag configuration from the fault registry.
#[derive(Debug, Clone)]
pub struct FlagSync {
    flags: watch::Receiver<String>,
}

impl FlagSync {
    pub fn server(flags: watch::Receiver<String>) -> FlagSyncServiceServer<Self> {
        FlagSyncServiceServer::new(Self { flags })
    }
}

type Updates = Pin<Box<dyn Stream<Item = Result<SyncFlagsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl FlagSyncService for FlagSync {
    type SyncFlagsStream = Updates;

    /// The whole configuration now, then again after every change.
    async fn sync_flags(
        &self,
        request: Request<SyncFlagsRequest>,
    ) -> Result<Response<Self::SyncFlagsStream>, Status> {
        let provider = request.into_inner().provider_id;
        tracing::info!(provider = %provider, "a flag sync client connected");
        let updates = tokio_stream::wrappers::WatchStream::new(self.flags.clone())
            .filter(|json| !json.is_empty())
            .map(|flag_configuration| {
                Ok(SyncFlagsResponse {
                    flag_configuration,
                    sync_context: None,
                })
            });
        Ok(Response::new(Box::pin(updates)))
    }

    async fn fetch_all_flags(
        &self,
        _: Request<FetchAllFlagsRequest>,
    ) -> Result<Response<FetchAllFlagsResponse>, Status> {
        Ok(Response::new(FetchAllFlagsResponse {
            flag_configuration: self.flags.borrow().clone(),
        }))
    }

    async fn get_metadata(
        &self,
        _: Request<GetMetadataRequest>,
    ) -> Result<Response<GetMetadataResponse>, Status> {
        Ok(Response::new(GetMetadataResponse::default()))
    }
}
