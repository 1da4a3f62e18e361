//! `/health/live`, `/health/ready` and `/metrics`, the same in every service.
//!
//! Liveness only says the process answers. Readiness runs named checks (its own store, required
//! downstreams) concurrently, each bounded by a timeout, and answers 200 when all pass or 503
//! with a JSON body naming the ones that failed — so the launcher and the dashboard can say *why*
//! a service is not ready.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

/// Why a check failed: any error, kept with its sources (the report prints the whole chain).
pub type CheckError = Box<dyn std::error::Error + Send + Sync>;

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), CheckError>> + Send>>;
type CheckFn = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

/// The named readiness checks of one service.
#[derive(Clone)]
pub struct Readiness {
    checks: Vec<NamedCheck>,
    timeout: Duration,
}

#[derive(Clone)]
struct NamedCheck {
    name: String,
    run: CheckFn,
    /// A failure makes the service not ready; otherwise it is only reported (`degraded`).
    required: bool,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.checks.iter().map(|c| c.name.as_str()).collect();
        f.debug_struct("Readiness").field("checks", &names).finish()
    }
}

impl Default for Readiness {
    fn default() -> Self {
        Self {
            checks: Vec::new(),
            timeout: Duration::from_secs(1),
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckResult {
    pub name: String,
    pub ok: bool,
    /// A failure of a required check makes the service not ready; an optional one is reported
    /// in `degraded` (the broker link: HTTP serving never waits for it).
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// The body of `/health/ready`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReadyReport {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    pub checks: Vec<CheckResult>,
    /// Names of the required checks that failed, for a quick read.
    pub failed: Vec<String>,
    /// Names of the optional checks that failed (the service is ready, with less).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub degraded: Vec<String>,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bounds each check (default 1 s); a check that overruns fails with `timed out`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Adds a check; an error means not ready (its message and sources are reported).
    pub fn check<F, Fut, E>(self, name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<CheckError>,
    {
        self.add(name.into(), check, true)
    }

    /// Adds a check that is reported but never makes the service not ready: a failure lists it
    /// under `degraded` (e.g. the broker link, which serving does not need).
    pub fn report<F, Fut, E>(self, name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<CheckError>,
    {
        self.add(name.into(), check, false)
    }

    fn add<F, Fut, E>(mut self, name: String, check: F, required: bool) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<CheckError>,
    {
        self.checks.push(NamedCheck {
            name,
            run: Arc::new(move || {
                let fut = check();
                Box::pin(async move { fut.await.map_err(Into::into) }) as CheckFuture
            }),
            required,
        });
        self
    }

    /// Runs every check concurrently.
    pub async fn evaluate(&self) -> ReadyReport {
        let runs = self.checks.iter().map(|check| {
            let fut = (check.run)();
            let (name, required) = (&check.name, check.required);
            let timeout = self.timeout;
            async move {
                let start = Instant::now();
                let outcome = match tokio::time::timeout(timeout, fut).await {
                    Ok(result) => result,
                    Err(_) => Err(CheckTimedOut { after: timeout }.into()),
                };
                CheckResult {
                    name: name.clone(),
                    ok: outcome.is_ok(),
                    required,
                    error: outcome.err().map(|e| chain(&*e)),
                    duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
                }
            }
        });
        let checks = futures_util::future::join_all(runs).await;
        let failing = |required: bool| -> Vec<String> {
            checks
                .iter()
                .filter(|c| !c.ok && c.required == required)
                .map(|c| c.name.clone())
                .collect()
        };
        let (failed, degraded) = (failing(true), failing(false));
        ReadyReport {
            status: if failed.is_empty() {
                "ready"
            } else {
                "not_ready"
            },
            checks,
            failed,
            degraded,
        }
    }
}

/// A check that overran its bound.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {} ms", .after.as_millis())]
pub struct CheckTimedOut {
    pub after: Duration,
}

/// `error: source: source's source`, each part once (a message that already ends with its
/// source's text, as `"{x}: {source}"` messages do, does not repeat it).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        let part = source.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = source.source();
    }
    text
}

async fn live() -> Response {
    Json(serde_json::json!({ "status": "live" })).into_response()
}

async fn ready(State(readiness): State<Readiness>) -> Response {
    let report = readiness.evaluate().await;
    let status = if report.failed.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report)).into_response()
}

/// The operational routes: `/health/live`, `/health/ready`, `/metrics`.
pub fn routes(readiness: Readiness) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state(readiness)
        .route(
            "/metrics",
            get(apiary_telemetry::prometheus::metrics_handler),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failing_and_slow_checks_are_named() {
        let readiness = Readiness::new()
            .with_timeout(Duration::from_millis(50))
            .check("store", || async { Ok::<(), CheckError>(()) })
            .check("catalog", || async { Err("connection refused") })
            .check("slow", || async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok::<(), CheckError>(())
            });
        let report = readiness.evaluate().await;
        assert_eq!(report.status, "not_ready");
        assert_eq!(report.failed, vec!["catalog".to_owned(), "slow".to_owned()]);
        let slow = report
            .checks
            .iter()
            .find(|c| c.name == "slow")
            .expect("slow check");
        assert!(slow.error.as_deref().unwrap_or("").contains("timed out"));
    }

    #[tokio::test]
    async fn a_failed_check_reports_its_error_with_its_sources() {
        #[derive(Debug, thiserror::Error)]
        #[error("database unusable")]
        struct Unusable(#[source] std::io::Error);
        #[derive(Debug, thiserror::Error)]
        #[error("peer unreachable: {0}")]
        struct Repeats(#[source] std::io::Error);
        let readiness = Readiness::new()
            .check("store", || async {
                Err(Unusable(std::io::Error::other("disk I/O error")))
            })
            .check("peer", || async {
                Err(Repeats(std::io::Error::other("connection refused")))
            });
        let report = readiness.evaluate().await;
        let error = |name: &str| {
            report
                .checks
                .iter()
                .find(|c| c.name == name)
                .and_then(|c| c.error.clone())
                .unwrap_or_default()
        };
        assert_eq!(error("store"), "database unusable: disk I/O error");
        assert_eq!(error("peer"), "peer unreachable: connection refused");
    }

    #[tokio::test]
    async fn an_optional_check_is_reported_but_never_makes_the_service_unready() {
        let readiness = Readiness::new()
            .check("database", || async { Ok::<(), CheckError>(()) })
            .report("broker", || async { Err("connection refused") });
        let report = readiness.evaluate().await;
        assert_eq!(report.status, "ready");
        assert!(report.failed.is_empty());
        assert_eq!(report.degraded, vec!["broker".to_owned()]);
        let broker = report
            .checks
            .iter()
            .find(|c| c.name == "broker")
            .expect("broker");
        assert!(!broker.ok && !broker.required);
    }

    #[tokio::test]
    async fn no_checks_means_ready() {
        let report = Readiness::new().evaluate().await;
        assert_eq!(report.status, "ready");
        assert!(report.failed.is_empty());
    }
}
