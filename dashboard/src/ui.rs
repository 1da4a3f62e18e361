//! The dashboard UI (crate `dashboard-ui`) mounted on the API listener: its pages render here
//! and read this server's API in process, through [`LocalApi`]: the same functions the API's
//! handlers call, with no socket and no JSON in between.

use std::path::PathBuf;
use std::sync::Arc;

use dashboard_api::{
    Drills, LogRecord, LogSearch, Report, Runs, ServiceDetail, Snapshot as SnapshotView,
    TraceComparison, TraceDetail, TraceSearch, TraceSummary,
};
use dashboard_ui::api::{ApiError as ReadError, ApiResult};
use dashboard_ui::server::{ApiSource, Reading};

use crate::api::{self, ApiError, ApiState};
use crate::control::{Control, routes as control};

/// The pages' reads, answered by the functions the API's handlers call.
pub struct LocalApi {
    pub api: ApiState,
    /// The control plane, when there is a stack to control (drills live there).
    pub control: Option<Arc<Control>>,
}

/// A refusal as the API would answer it (the page shows the same message).
fn refused(err: ApiError) -> ReadError {
    ReadError::Refused {
        status: err.status().0.as_u16(),
        message: err.to_string(),
    }
}

fn ready<T: Send + 'static>(answer: ApiResult<T>) -> Reading<T> {
    Box::pin(std::future::ready(answer))
}

impl LocalApi {
    fn control(&self) -> ApiResult<Arc<Control>> {
        self.control.clone().ok_or_else(|| ReadError::Refused {
            status: 503,
            message: control::CONTROL_UNAVAILABLE.to_owned(),
        })
    }
}

impl ApiSource for LocalApi {
    fn service(&self, name: String) -> Reading<ServiceDetail> {
        ready(api::service_detail(&self.api, &name).map_err(refused))
    }

    fn traces(&self, search: TraceSearch) -> Reading<Vec<TraceSummary>> {
        ready(api::find_traces(&self.api, &search).map_err(refused))
    }

    fn trace(&self, id: String) -> Reading<TraceDetail> {
        ready(api::trace_detail(&self.api, &id).map_err(refused))
    }

    fn compare(&self, a: String, b: String) -> Reading<TraceComparison> {
        ready(api::compare_traces(&self.api, &a, &b).map_err(refused))
    }

    fn logs(&self, search: LogSearch) -> Reading<Vec<LogRecord>> {
        ready(api::find_logs(&self.api, &search).map_err(refused))
    }

    fn drills(&self) -> Reading<Drills> {
        ready(self.control().map(|c| control::drills(&c)))
    }

    fn runs(&self) -> Reading<Runs> {
        let control = self.control();
        Box::pin(async move {
            let control = control?;
            Ok(control::runs(&control, control::DEFAULT_RUNS_LISTED).await)
        })
    }

    fn report(&self, id: String) -> Reading<Report> {
        let control = self.control();
        Box::pin(async move {
            let control = control?;
            control::report(&control, &id)
                .await
                .map_err(|e| ReadError::Refused {
                    status: 404,
                    message: e.to_string(),
                })
        })
    }

    fn snapshot(&self) -> SnapshotView {
        let snap = self.api.snapshots.borrow().clone();
        api::snapshot_view(&snap, self.api.unsecured_warning)
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
