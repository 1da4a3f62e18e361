//! The control plane: faults (`/api/faults`), drills (`/api/drills`), the load generator
//! (`/api/load`) and live scaling (`/api/scale`).
//!
//! Safety, for a thing whose purpose is to break the shop:
//! - every change needs the control token (`Authorization: Bearer`), even on loopback — it is
//!   `APIARY_CONTROL_TOKEN`, or random and written owner-only to `<data_dir>/control.token`,
//!   where the `apiary` CLI reads it; never a cookie, so a browser cannot be tricked into
//!   sending it;
//! - changes are `POST`/`DELETE` with a JSON body (anything else is 415), cross-site requests
//!   (`Sec-Fetch-Site: cross-site`, a foreign `Origin`) are 403, and `GET` changes nothing;
//! - every fault has a time-to-live (none is refused) and the caps of `apiary.toml` `[faults]`
//!   bound how many faults and how large a share of requests;
//! - every change is appended to `<data_dir>/audit.jsonl`: who, what, when.
//!
//! # Layout
//! - [`faults`] — the registry: validation, caps, TTL expiry, the flag file, annotations.
//! - [`drill`] — drill files; [`runner`] — running one, game days, reports;
//!   [`cause_check`] — the probable cause judged against the injected faults; [`stages`] —
//!   time to detect, stage by stage.
//! - [`audit`] — the append-only log; [`load`] — the load generator's control API;
//!   [`scale`] — the launcher's (instances of a service); [`flagsync`] — the flags as a
//!   flagd sync source (gRPC), for flagd daemons and in-process providers anywhere.
//! - [`routes`] — the HTTP API and its guard.

pub mod audit;
pub mod cause_check;
pub mod drill;
pub mod faults;
pub mod flagsync;
pub mod load;
pub mod routes;
pub mod runner;
pub mod scale;
pub mod stages;

use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{Mutex, watch};

use crate::monitor::{Annotations, Snapshot};

pub use faults::Faults;

/// What the control plane reads of the dashboard's own state.
#[derive(Debug, Clone)]
pub struct Views {
    /// Fault and drill windows, as the charts shade them.
    pub annotations: Arc<Annotations>,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// The spans (a drill's first affected request, and when it arrived).
    pub store: Arc<crate::store::Store>,
    /// When browsers showed health changes.
    pub seen: Arc<crate::seen::SeenLog>,
}

/// Everything the control routes share.
#[derive(Debug)]
pub struct Control {
    pub faults: Arc<Faults>,
    /// `Debug` never prints it.
    pub token: SecretString,
    pub drills_dir: PathBuf,
    pub reports_dir: PathBuf,
    pub load: Option<load::LoadClient>,
    /// The launcher running the stack, when one does (live scaling).
    pub launcher: Option<scale::LauncherClient>,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub store: Arc<crate::store::Store>,
    pub seen: Arc<crate::seen::SeenLog>,
    pub runs: Mutex<BTreeMap<String, runner::RunHandle>>,
}

/// Why the control plane could not start.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Manifest(#[from] apiary_manifest::ManifestError),
    #[error(transparent)]
    Flags(#[from] apiary_manifest::FlagFileError),
    #[error("cannot create {}: {source}", dir.display())]
    DataDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot make a token: {0}")]
    Token(#[source] std::io::Error),
    #[error("cannot write the control token into {}: {source}", dir.display())]
    WriteToken {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Faults(#[from] faults::FaultError),
}

impl Control {
    /// Sets the control plane up from the manifest: the base flags (the manifest's flag file,
    /// or generated from it), the data directory, the token, the load generator.
    pub fn start(
        manifest_path: &std::path::Path,
        data_dir: Option<PathBuf>,
        token: Option<SecretString>,
        load_url: Option<String>,
        launcher_url: Option<String>,
        views: Views,
    ) -> Result<Arc<Self>, ControlError> {
        let Views {
            annotations,
            snapshots,
            store,
            seen,
        } = views;
        let manifest = apiary_manifest::Manifest::load(manifest_path)?;
        let data_dir = data_dir.unwrap_or_else(|| manifest.data_dir(manifest_path));
        if let Err(source) = std::fs::create_dir_all(&data_dir) {
            return Err(ControlError::DataDir {
                dir: data_dir,
                source,
            });
        }
        let shape = manifest.fault_shape();
        let base = manifest.base_flags(manifest_path)?;
        let token: SecretString = match token.filter(|t| !t.expose_secret().is_empty()) {
            Some(t) => t,
            None => {
                let t = crate::security::generate_token().map_err(ControlError::Token)?;
                apiary_manifest::write_control_token(&data_dir, &t).map_err(|source| {
                    ControlError::WriteToken {
                        dir: data_dir.clone(),
                        source,
                    }
                })?;
                t.into()
            }
        };
        let load = load_url.map(|u| load::LoadClient::new(&u, token.clone()));
        let launcher = launcher_url.map(|u| scale::LauncherClient::new(&u, token.clone()));
        let audit = Arc::new(audit::Audit::new(data_dir.join("audit.jsonl")));
        let faults = Faults::start(
            shape,
            manifest.fault_caps(),
            base,
            data_dir.join(apiary_manifest::ACTIVE_FLAGS_FILE),
            audit,
            annotations,
            load.clone(),
        )?;
        let faults = Arc::new(faults);
        tokio::spawn(faults.clone().run_expiry());
        let reports_dir = data_dir.join("drill-reports");
        let orphans = runner::abort_orphans(&reports_dir);
        if orphans > 0 {
            tracing::warn!(
                runs = orphans,
                "drill runs left running by a previous dashboard are marked aborted"
            );
        }
        Ok(Arc::new(Self {
            faults,
            token,
            drills_dir: manifest.resolve(manifest_path, &manifest.faults.drills),
            reports_dir,
            load,
            launcher,
            snapshots,
            store,
            seen,
            runs: Mutex::new(BTreeMap::new()),
        }))
    }

    /// The drills on disk, parsed and checked against this stack.
    pub fn drills(&self) -> BTreeMap<String, drill::Listed> {
        drill::load_dir(&self.drills_dir, self.faults.shape(), &self.faults.caps())
    }
}
