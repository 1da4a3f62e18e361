//! The live control API: change the rate or the profile, pause, resume, stop — without a
//! restart — and read status and metrics.
//!
//! Guarded like every Apiary control endpoint:
//! - loopback by default (`--control 127.0.0.1:8089`);
//! - every state change is a `POST` with `Authorization: Bearer <token>` (401 otherwise; the
//!   token comes from `APIARY_LOAD_TOKEN` or is generated and printed at start);
//! - bodies are JSON only (415 for anything else, 400/422 for bad JSON);
//! - `GET` never changes anything (`GET /rate` is a 405); `GET /status` and `GET /metrics` are
//!   read-only and open, so the dashboard can scrape them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apiary_chassis::extract::Json;
use apiary_chassis::{Readiness, ServeLimits, json_error, standard_router};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::engine::{ControlError, Controller, Status};
use crate::profile::Profile;
use crate::shape::RateShape;
use crate::units::InvalidValue;

/// The bearer token for state changes. Never printed by `Debug`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// `APIARY_LOAD_TOKEN` when set (non-empty), else a fresh random one. The flag says
    /// whether it was generated (and so must be shown to the user).
    pub fn from_env_or_random() -> (Token, bool) {
        match std::env::var("APIARY_LOAD_TOKEN") {
            Ok(t) if !t.trim().is_empty() => (Token(t.trim().to_owned()), false),
            _ => (Token::random(), true),
        }
    }

    pub fn random() -> Token {
        Token(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn new(value: impl Into<String>) -> Token {
        Token(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the first difference is.
    fn matches(&self, offered: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), offered.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

#[derive(Clone)]
struct ControlState {
    controller: Arc<Controller>,
    token: Token,
}

/// The control router (socket-free, for tests with `oneshot`).
pub fn router(controller: Arc<Controller>, token: Token) -> Router {
    let state = ControlState { controller, token };
    let changes = Router::new()
        .route("/rate", post(set_rate))
        .route("/profile", post(set_profile))
        .route("/pause", post(pause))
        .route("/resume", post(resume))
        .route("/stop", post(stop))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    let api = Router::new()
        .route("/status", get(status))
        .merge(changes)
        .with_state(state);
    standard_router(
        api,
        Readiness::new(),
        ServeLimits {
            request_timeout: Duration::from_secs(30),
            body_limit: 256 * 1024,
            max_in_flight: 64,
        },
    )
}

/// Binds the control API; when `fallback` and the address is taken, any free port on the same
/// host instead. Returns the address it got.
pub async fn bind(addr: SocketAddr, fallback: bool) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) if fallback && e.kind() == std::io::ErrorKind::AddrInUse => {
            TcpListener::bind(SocketAddr::new(addr.ip(), 0)).await?
        }
        Err(e) => return Err(e),
    };
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Serves the control API until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    controller: Arc<Controller>,
    token: Token,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    apiary_chassis::serve(
        listener,
        router(controller, token),
        shutdown,
        Duration::from_secs(2),
    )
    .await
}

async fn require_token(State(state): State<ControlState>, req: Request, next: Next) -> Response {
    let offered = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match offered {
        Some(t) if state.token.matches(t) => next.run(req).await,
        Some(_) => unauthorized("the bearer token is wrong"),
        None => unauthorized(
            "send Authorization: Bearer <token> (printed at start, or APIARY_LOAD_TOKEN)",
        ),
    }
}

fn unauthorized(message: &str) -> Response {
    let mut r = json_error(StatusCode::UNAUTHORIZED, "unauthorized", message);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}

async fn status(State(state): State<ControlState>) -> axum::Json<Status> {
    axum::Json(state.controller.status())
}

fn answer(state: &ControlState, result: Result<(), ControlError>) -> Response {
    match result {
        Ok(()) => axum::Json(state.controller.status()).into_response(),
        Err(ControlError::Profile(e)) => json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_profile",
            e.to_string(),
        ),
        Err(e @ ControlError::Catalog(_)) => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "catalog_unavailable",
            e.to_string(),
        ),
        Err(e @ ControlError::Finished) => {
            json_error(StatusCode::CONFLICT, "finished", e.to_string())
        }
    }
}

/// `POST /rate`: `{"rate": 20}` or `{"shape": "ramp:5:50:60s"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateBody {
    rate: Option<f64>,
    shape: Option<String>,
}

async fn set_rate(State(state): State<ControlState>, Json(body): Json<RateBody>) -> Response {
    let shape: Result<RateShape, InvalidValue> = match (body.rate, body.shape) {
        (Some(rate), None) => rate.to_string().parse(),
        (None, Some(shape)) => shape.parse(),
        _ => Err(InvalidValue::RateOrShape),
    };
    match shape {
        Ok(shape) => {
            let r = state.controller.set_shape(shape);
            if r.is_ok() {
                tracing::info!(shape = %shape, "rate changed");
            }
            answer(&state, r)
        }
        Err(e) => json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_rate",
            e.to_string(),
        ),
    }
}

/// `POST /profile`: `{"path": "load/profiles/shop.toml"}` or `{"toml": "<profile text>"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    path: Option<String>,
    toml: Option<String>,
}

async fn set_profile(State(state): State<ControlState>, Json(body): Json<ProfileBody>) -> Response {
    let profile = match (body.path, body.toml) {
        (Some(path), None) => Profile::load(std::path::Path::new(&path)),
        (None, Some(text)) => Profile::parse(&text, "profile from the control API"),
        _ => {
            return json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "give exactly one of `path` or `toml`",
            );
        }
    };
    let result = match profile {
        Ok(p) => {
            let origin = p.origin.clone();
            let r = state.controller.set_profile(p).await;
            if r.is_ok() {
                tracing::info!(profile = %origin, "profile changed");
            }
            r
        }
        Err(e) => Err(e.into()),
    };
    answer(&state, result)
}

/// Bodies of pause, resume and stop: an empty JSON object.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

async fn pause(State(state): State<ControlState>, Json(_): Json<Empty>) -> Response {
    let r = state.controller.pause();
    answer(&state, r)
}

async fn resume(State(state): State<ControlState>, Json(_): Json<Empty>) -> Response {
    let r = state.controller.resume();
    answer(&state, r)
}

async fn stop(State(state): State<ControlState>, Json(_): Json<Empty>) -> Response {
    state.controller.stop();
    tracing::info!("stop requested over the control API");
    axum::Json(state.controller.status()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly_and_never_print() {
        let t = Token::new("abc123");
        assert!(t.matches("abc123"));
        assert!(!t.matches("abc124"));
        assert!(!t.matches("abc12"));
        assert_eq!(format!("{t:?}"), "Token(***)");
    }
}
