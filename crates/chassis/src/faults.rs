//! The fault layer every service gets from [`crate::standard_router`], and the process-side
//! effects of faults. Flags are evaluated by `apiary_faults::runtime` (OpenFeature + flagd);
//! this module only applies what it decides:
//! - per request (middleware, inside the server span so the effect is traced and measured like
//!   any other outcome): crash, 500, hang, added latency, CPU burn, bad-version behaviour;
//! - readiness: a failing-readiness fault fails `/health/ready` as a named check;
//! - per outbound call ([`crate::HttpClient`]): unreachable or partitioned peers, retry storms;
//! - background: the bounded memory leak.
//!
//! Operational routes (`/health/*`, `/metrics`, `/openapi.json`) are never faulted: a fault
//! must show up in the service's own signals, not blind the watcher.

use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

pub use apiary_faults::runtime::{Decision, Link};

/// Exit code of an injected crash (EX_SOFTWARE).
pub const CRASH_EXIT_CODE: i32 = 70;

/// Starts fault evaluation for this process (called by `run_service`). Without flagd's
/// variables, or with `APIARY_FAULTS=off`, the service runs without faults and says why.
pub async fn start(info: apiary_telemetry::ServiceInfo) {
    let name = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| info.name.to_owned());
    match apiary_faults::runtime::start(&name, info.version).await {
        Ok(faults) => {
            tracing::info!(service = %name, "fault flags evaluated in process (OpenFeature, flagd provider)");
            tokio::spawn(apiary_faults::runtime::run_memory_leak(faults));
        }
        Err(err) => tracing::info!(reason = %err, "fault injection off"),
    }
}

fn operational(path: &str) -> bool {
    path.starts_with("/health/") || path == "/metrics" || path == "/openapi.json"
}

/// Axum middleware applying the request-path faults.
pub async fn layer(req: Request, next: Next) -> Response {
    let Some(faults) = apiary_faults::runtime::get() else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_owned();
    if operational(&path) {
        return next.run(req).await;
    }
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| path.clone(), |m| m.as_str().to_owned());
    let route = format!("{} {template}", req.method());
    let decision = faults.decide(&route, &path).await;
    let span = tracing::Span::current();
    if let Some(version) = &decision.deployed_version {
        span.record("apiary.deployed_version", version.as_str());
    }
    if let Some(applied) = decision.applied() {
        span.record("apiary.fault", applied);
        tracing::warn!(fault = applied, route = %route, "injected fault");
    }
    if decision.crash {
        tracing::error!(exit_code = CRASH_EXIT_CODE, "injected crash: exiting now");
        std::process::exit(CRASH_EXIT_CODE);
    }
    if decision.error {
        return match decision
            .error_status
            .and_then(|s| StatusCode::from_u16(s).ok())
        {
            Some(status) => {
                let mut resp = crate::json_error(
                    status,
                    "unavailable",
                    format!("injected fault: error-rate ({})", status.as_u16()),
                );
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    resp.headers_mut().insert(
                        axum::http::header::RETRY_AFTER,
                        axum::http::HeaderValue::from_static("1"),
                    );
                }
                resp
            }
            None => crate::json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "injected fault: error-rate",
            ),
        };
    }
    if decision.hang {
        // The caller's timeout (or the standard router's) ends it.
        std::future::pending::<()>().await;
    }
    if let Some(delay) = decision.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(burn) = decision.cpu_burn {
        apiary_faults::runtime::burn_cpu(burn);
    }
    next.run(req).await
}

/// What the readiness check reports while a failing-readiness fault is set.
#[derive(Debug, thiserror::Error)]
#[error("injected fault: readiness failing")]
pub struct InjectedNotReady;

/// The readiness check a failing-readiness fault fails.
pub async fn readiness_check() -> Result<(), InjectedNotReady> {
    match apiary_faults::runtime::get() {
        Some(f) if f.readiness_failing().await => Err(InjectedNotReady),
        _ => Ok(()),
    }
}

/// How this process reaches `peer` now (always `Ok` without faults).
pub async fn link(peer: &str) -> Link {
    match apiary_faults::runtime::get() {
        Some(f) => f.link(peer).await,
        None => Link::Ok,
    }
}

/// Extra immediate retries of a failed call to `peer` (0 without a retry storm).
pub async fn retry_storm(peer: &str) -> u32 {
    match apiary_faults::runtime::get() {
        Some(f) => f.retry_storm(peer).await,
        None => 0,
    }
}

/// Delay before a data store operation (None without a slow-store fault).
pub async fn store_delay() -> Option<Duration> {
    match apiary_faults::runtime::get() {
        Some(f) => f.store_delay().await,
        None => None,
    }
}

/// Whether the in-memory store is being lost now.
pub async fn store_lost() -> bool {
    match apiary_faults::runtime::get() {
        Some(f) => f.store_lost().await,
        None => false,
    }
}

/// Whether a charge on a card with this BIN fails at the issuer now.
pub async fn card_fails(card_bin: &str) -> bool {
    match apiary_faults::runtime::get() {
        Some(f) => f.card_fails(card_bin).await,
        None => false,
    }
}
