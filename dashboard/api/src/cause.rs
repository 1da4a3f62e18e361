//! Probable cause: what the dashboard thinks is behind what is red, with its evidence
//! (`/api/cause`, `/api/services/{name}/cause`, the snapshot's `diagnosis`).

use serde::{Deserialize, Serialize};

/// Everything that is wrong now, the ranked explanations, and what changed recently.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Diagnosis {
    /// Unix milliseconds.
    pub at: u64,
    /// What is wrong: each service that is not up, and each signal out of line (`traffic
    /// surge at gateway`, `dead letters on shipping.order-placed`, `carts lost`).
    pub symptoms: Vec<String>,
    /// The explanations, most probable first.
    pub causes: Vec<Cause>,
    /// What changed in the last five minutes: faults set, restarts, versions, scaling. Shown as
    /// evidence; they do not change the ranking (which reads telemetry only, so a drill's hit
    /// rate measures the telemetry, not the control plane's own record).
    pub changes: Vec<Change>,
}

/// One explanation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Cause {
    /// `service` (its own symptoms explain its callers'), `link` (calls to a service fail
    /// while it reports nothing wrong: it hangs, or the network is cut), `traffic` (a surge at
    /// the shop's edge), `broker` (services cut from the message broker), `messages` (a
    /// producer's messages rejected by its consumers), `business` (a KPI only its owner can
    /// move).
    pub kind: String,
    /// The service to look at (for a link, the callee; for traffic, the entry service).
    pub service: Option<String>,
    /// For a link: the caller.
    pub peer: Option<String>,
    /// One line: "payment: error rate 100% >= 5%".
    pub summary: String,
    /// The symptoms it accounts for (services and signals).
    pub explains: Vec<String>,
    /// Why: the numbers behind it, and recent changes on the same service.
    pub evidence: Vec<String>,
    /// Attribute values over-represented in the service's failing or slow spans against its
    /// other spans of the last five minutes, most telling first.
    pub attributes: Vec<AttributeDelta>,
    /// The rank's basis: how many symptoms it explains, plus its severity.
    pub score: f64,
}

/// An attribute value and how much more often it appears on bad spans than on good ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct AttributeDelta {
    pub key: String,
    pub value: String,
    /// Share of the bad spans (failed, or slower than the latency objective) with this value.
    pub bad_share: f64,
    /// Share of the good spans (the last five minutes) with it.
    pub baseline_share: f64,
    /// Bad spans with it.
    pub bad_spans: u64,
}

/// Something that changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Change {
    /// Unix milliseconds.
    pub at: u64,
    /// `fault`, `drill`, `restart`, `version`, `scaling`.
    pub kind: String,
    pub service: Option<String>,
    pub what: String,
}

/// A drill's check of the probable cause against the fault it injected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct CauseCheck {
    /// Milliseconds after the drill started when the cause was read (a moment after the
    /// symptom appeared, while the faults were still on).
    pub at_ms: u64,
    /// The top-ranked cause then, if there was one.
    pub top: Option<Cause>,
    /// What would have been right: the injected faults as causes ("payment", "traffic",
    /// "catalog with apiary.deployed_version=0.2.0-rc.1").
    pub expected: Vec<String>,
    /// Whether the top cause names an injected fault's service (or kind).
    pub hit: bool,
    /// Where the fault has a telling attribute (a bad deploy's version, an error rate's
    /// route): whether the top cause's first attribute is it.
    pub attribute_hit: Option<bool>,
}
