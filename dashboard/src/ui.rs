//! The dashboard UI (crate `dashboard-ui`) mounted on the API listener: its pages render here
//! and read this server's API in process, through [`LocalApi`], without a socket.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use dashboard_ui::server::ApiSource;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::api;
use crate::monitor::Snapshot;

/// Bodies the pages read are bounded like everything else (a 1000-trace search is well below).
const MAX_BODY: usize = 32 * 1024 * 1024;

pub struct LocalApi {
    /// The API router without the token layer: the page request already passed it.
    pub router: Router,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub warning: Option<&'static str>,
}

impl ApiSource for LocalApi {
    fn get(&self, path_and_query: String) -> Pin<Box<dyn Future<Output = (u16, String)> + Send>> {
        let router = self.router.clone();
        Box::pin(async move {
            let Ok(req) = Request::get(path_and_query).body(Body::empty()) else {
                return (
                    400,
                    r#"{"error":{"code":"bad_request","message":"malformed path"}}"#.to_owned(),
                );
            };
            let resp = match router.oneshot(req).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            };
            let status = resp.status().as_u16();
            match axum::body::to_bytes(resp.into_body(), MAX_BODY).await {
                Ok(bytes) => (status, String::from_utf8_lossy(&bytes).into_owned()),
                Err(err) => (
                    502,
                    serde_json::json!({"error": {"code": "unavailable", "message": err.to_string()}})
                        .to_string(),
                ),
            }
        })
    }

    fn snapshot_json(&self) -> String {
        let snap = self.snapshots.borrow().clone();
        api::snapshot_json(&snap, self.warning)
    }
}

/// Where apiary-ui-build puts the bundle relative to the binary: `target/<profile>/dashboard`
/// serves `target/site`.
pub fn default_site_root() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("site")))
        .unwrap_or_else(|| PathBuf::from("target/site"))
}
