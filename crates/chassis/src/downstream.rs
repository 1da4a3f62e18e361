//! Typed JSON calls to a downstream service, and how their failures become responses.
//!
//! Every service talks to its peers the same way: send through [`HttpClient`] (span, deadline,
//! breaker, retries for idempotent calls), decode a 2xx body as the contract type, decode a 4xx
//! body as the standard error, and classify everything else. [`DownstreamError`] keeps those
//! cases apart so a caller can relay a peer's verdict on the shopper's input (4xx) while
//! answering 502/503/504 for a peer that is broken, down or slow.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reqwest::RequestBuilder;
use serde::de::DeserializeOwned;

use crate::http_client::{CallError, HttpClient};
use apiary_wire::ErrorBody;

/// How a typed call to a peer failed.
#[derive(Debug, thiserror::Error)]
pub enum DownstreamError {
    /// The peer refused the request (4xx) with the standard error body.
    #[error("{peer} refused the request ({status}): {}", .body.error.message)]
    Rejected {
        peer: String,
        status: u16,
        body: ErrorBody,
    },
    /// Not reachable, or its circuit is open.
    #[error("{peer} is unavailable: {source}")]
    Unavailable {
        peer: String,
        #[source]
        source: CallError,
    },
    /// The call's timeout or the request's deadline ran out.
    #[error("{peer} did not answer in time: {source}")]
    Timeout {
        peer: String,
        #[source]
        source: CallError,
    },
    /// A 5xx, or an answer that breaks the contract (malformed body, 4xx without error body).
    #[error("{peer} failed: {detail}")]
    Failed { peer: String, detail: String },
}

/// A required peer's liveness probe failed (a readiness check's error).
#[derive(Debug, thiserror::Error)]
pub enum NotLive {
    #[error("{peer} unreachable ({})", .source.kind())]
    Unreachable {
        peer: String,
        #[source]
        source: CallError,
    },
    #[error("{peer} liveness answered {status}")]
    Answered { peer: String, status: u16 },
}

impl DownstreamError {
    pub fn peer(&self) -> &str {
        match self {
            DownstreamError::Rejected { peer, .. }
            | DownstreamError::Unavailable { peer, .. }
            | DownstreamError::Timeout { peer, .. }
            | DownstreamError::Failed { peer, .. } => peer,
        }
    }

    /// The peer's error code when it refused the request (e.g. `out_of_stock`).
    pub fn rejected_code(&self) -> Option<&str> {
        match self {
            DownstreamError::Rejected { body, .. } => Some(&body.error.code),
            _ => None,
        }
    }

    /// The peer's status when it refused the request.
    pub fn rejected_status(&self) -> Option<u16> {
        match self {
            DownstreamError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when the outcome at the peer is unknown: the request may or may not have been
    /// applied (timeouts, cut connections, 5xx). A refusal or a connection that never opened
    /// means it was not.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            DownstreamError::Rejected { .. } => false,
            DownstreamError::Unavailable { source, .. } => {
                !matches!(source, CallError::CircuitOpen(_))
                    && !matches!(source, CallError::Transport(e) if e.is_connect())
                    && !matches!(
                        source,
                        CallError::Injected(crate::http_client::InjectedLink::Unreachable)
                    )
            }
            DownstreamError::Timeout { source, .. } => {
                !matches!(source, CallError::DeadlineExceeded)
            }
            DownstreamError::Failed { .. } => true,
        }
    }

    /// A low-cardinality label for metrics and `error.type`.
    pub fn kind(&self) -> &'static str {
        match self {
            DownstreamError::Rejected { .. } => "rejected",
            DownstreamError::Unavailable { .. } => "unavailable",
            DownstreamError::Timeout { .. } => "timeout",
            DownstreamError::Failed { .. } => "failed",
        }
    }

    /// The response for a caller when this peer's failure ends the request: the peer's 4xx is
    /// relayed as it came (it is the verdict on the caller's input); a broken peer is 502, an
    /// unreachable one 503, a slow one 504, each with a stable code naming the peer.
    pub fn into_relayed_response(self) -> Response {
        let (status, body) = self.relayed();
        (status, Json(body)).into_response()
    }

    /// [`DownstreamError::into_relayed_response`] as data (status and body), for callers that
    /// store the answer (checkout's saga log).
    pub fn relayed(&self) -> (StatusCode, ErrorBody) {
        match self {
            DownstreamError::Rejected { status, body, .. } => (
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                body.clone(),
            ),
            other => {
                tracing::warn!(error = %other, peer = other.peer(), "downstream call failed");
                let (status, code) = match other {
                    DownstreamError::Unavailable { .. } => {
                        (StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable")
                    }
                    DownstreamError::Timeout { .. } => {
                        (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout")
                    }
                    _ => (StatusCode::BAD_GATEWAY, "upstream_error"),
                };
                let body = ErrorBody {
                    error: apiary_wire::ErrorDetail {
                        code: code.to_owned(),
                        message: format!(
                            "the {} service is not answering properly; try again shortly",
                            other.peer()
                        ),
                    },
                };
                (status, body)
            }
        }
    }
}

/// Whether a call may be repeated safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads, and writes carrying their own idempotency key: retried within the retry budget.
    Idempotent,
    /// Sent once.
    Once,
}

impl HttpClient {
    /// Sends `request` and decodes a 2xx JSON body as `T` (see the module docs for failures).
    pub async fn call_json<T: DeserializeOwned>(
        &self,
        template: &str,
        request: RequestBuilder,
        idempotency: Idempotency,
    ) -> Result<T, DownstreamError> {
        let bytes = self.call_bytes(template, request, idempotency).await?;
        serde_json::from_slice(&bytes).map_err(|e| DownstreamError::Failed {
            peer: self.peer().to_owned(),
            detail: format!("malformed response: {e}"),
        })
    }

    /// As [`HttpClient::call_json`] for calls whose success body does not matter (e.g. 204).
    pub async fn call_no_content(
        &self,
        template: &str,
        request: RequestBuilder,
        idempotency: Idempotency,
    ) -> Result<(), DownstreamError> {
        self.call_bytes(template, request, idempotency)
            .await
            .map(drop)
    }

    async fn call_bytes(
        &self,
        template: &str,
        request: RequestBuilder,
        idempotency: Idempotency,
    ) -> Result<axum::body::Bytes, DownstreamError> {
        let peer = || self.peer().to_owned();
        let sent = match idempotency {
            Idempotency::Idempotent => self.send_idempotent(template, request).await,
            Idempotency::Once => self.send(template, request).await,
        };
        let resp = sent.map_err(|source| classify(peer(), source))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| {
            if e.is_timeout() {
                DownstreamError::Timeout {
                    peer: peer(),
                    source: CallError::Transport(e),
                }
            } else {
                DownstreamError::Failed {
                    peer: peer(),
                    detail: "response body cut short".to_owned(),
                }
            }
        })?;
        if status.is_success() {
            Ok(bytes)
        } else if status.is_client_error() {
            match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(body) => Err(DownstreamError::Rejected {
                    peer: peer(),
                    status: status.as_u16(),
                    body,
                }),
                Err(_) => Err(DownstreamError::Failed {
                    peer: peer(),
                    detail: format!("{status} without an error body"),
                }),
            }
        } else {
            Err(DownstreamError::Failed {
                peer: peer(),
                detail: format!("answered {status}"),
            })
        }
    }

    /// Readiness helper: the peer answers its liveness probe.
    pub async fn live(&self) -> Result<(), NotLive> {
        let resp = self
            .probe("/health/live", self.get("/health/live"))
            .await
            .map_err(|source| NotLive::Unreachable {
                peer: self.peer().to_owned(),
                source,
            })?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(NotLive::Answered {
                peer: self.peer().to_owned(),
                status: resp.status().as_u16(),
            })
        }
    }
}

fn classify(peer: String, source: CallError) -> DownstreamError {
    if source.is_timeout() {
        DownstreamError::Timeout { peer, source }
    } else if source.is_unavailable() {
        DownstreamError::Unavailable { peer, source }
    } else {
        DownstreamError::Failed {
            peer,
            detail: format!("transport error: {}", source.kind()),
        }
    }
}

/// Percent-encodes one path segment, so an id sent by a client cannot change the route
/// (`../admin?x=1` stays one segment).
pub fn encode_segment(segment: &str) -> String {
    let mut url = reqwest::Url::parse("http://segment.invalid/").expect("static URL parses");
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.push(segment);
    }
    url.path().trim_start_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::encode_segment;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode_segment("BK-0001"), "BK-0001");
        assert_eq!(encode_segment("../admin?x=1"), "..%2Fadmin%3Fx=1");
        assert_eq!(encode_segment("a b"), "a%20b");
    }
}
