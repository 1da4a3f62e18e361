//! OTLP/HTTP (port 4318): `POST /v1/traces`, `/v1/logs`, `/v1/metrics`, protobuf or JSON,
//! optionally gzip-compressed, answering as the OTLP specification says:
//! 200 (with `partial_success` when items were rejected), 400 undecodable or unreadable,
//! 401 bad key, 408 body not received in time, 413 over the body limit (after
//! decompression), 415 unsupported content type or encoding, 429 + `Retry-After` over the
//! item budget, 503 + `Retry-After` when too many requests or body bytes are in flight.
//! The response's content type matches the request's. Every refusal that can be decided from
//! the headers is made before the body is read.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Ingest, OverBudget};
use crate::security::{API_KEY_HEADER, ApiKey};

/// `google.rpc.Status`, the body of OTLP/HTTP error responses.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
        let essence = ct.split(';').next()?.trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/x-protobuf" => Some(Encoding::Protobuf),
            "application/json" => Some(Encoding::Json),
            _ => None,
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        })
    }

    fn encode<M: prost::Message + Serialize>(self, msg: &M) -> Vec<u8> {
        match self {
            Encoding::Protobuf => msg.encode_to_vec(),
            Encoding::Json => serde_json::to_vec(msg).unwrap_or_default(),
        }
    }
}

fn reply<M: prost::Message + Serialize>(status: StatusCode, enc: Encoding, msg: &M) -> Response {
    let mut resp = (status, Body::from(enc.encode(msg))).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, enc.content_type());
    resp
}

fn error(status: StatusCode, enc: Encoding, message: impl Into<String>) -> Response {
    // gRPC codes: 3 INVALID_ARGUMENT, 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED,
    // 14 UNAVAILABLE, 16 UNAUTHENTICATED.
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS | StatusCode::PAYLOAD_TOO_LARGE => 8,
        StatusCode::SERVICE_UNAVAILABLE => 14,
        StatusCode::REQUEST_TIMEOUT => 4,
        StatusCode::UNAUTHORIZED => 16,
        _ => 3,
    };
    reply(
        status,
        enc,
        &RpcStatus {
            code,
            message: message.into(),
        },
    )
}

/// What one OTLP/HTTP receiver may hold at once. The body limit alone bounds one request;
/// these bound them all together, so a flood of large or slow requests cannot take the
/// dashboard's memory or its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest body, in bytes, measured after decompression (413 past it).
    pub body_limit: usize,
    /// Requests being read or decoded at once; more are answered 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// Body bytes (compressed and inflated) held by all requests in flight; a request that
    /// would go past it is answered 503 with `Retry-After` (before the rest is read). The
    /// body limit is lowered to half of it if need be, so that one body always fits.
    pub in_flight_bytes: usize,
    /// Time allowed to receive a whole body (408 after it): a slow sender cannot hold a
    /// request slot and its buffer for ever.
    pub read_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024 * 1024,
            max_in_flight: 32,
            in_flight_bytes: 256 * 1024 * 1024,
            read_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
struct HttpState {
    ingest: Arc<Ingest>,
    key: ApiKey,
    limits: HttpLimits,
    /// One permit per request in flight.
    requests: Arc<Semaphore>,
    /// One permit per body byte held.
    bytes: Arc<Semaphore>,
}

/// Why a body was not read; each maps to its status code.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    #[error("content encoding '{0}' is not supported: use gzip or identity")]
    Encoding(String),
    #[error("the receiver holds too many bodies; retry later")]
    Busy,
    #[error("the body was not received within {0:?}")]
    Timeout(Duration),
    #[error("the body could not be read: {0}")]
    Read(#[source] axum::Error),
    #[error("bad gzip body: {0}")]
    Gzip(#[source] std::io::Error),
}

impl BodyError {
    fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Encoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            BodyError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            BodyError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            // A sender that hung up does not read the answer; it is a client's failure, not
            // a size one.
            BodyError::Read(_) | BodyError::Gzip(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// Body bytes taken from the shared byte budget, given back when dropped.
struct Held {
    budget: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
    bytes: usize,
}

impl Held {
    fn new(budget: Arc<Semaphore>) -> Self {
        Self {
            budget,
            permit: None,
            bytes: 0,
        }
    }

    /// Holds `total` bytes in all, taking what is missing, or refuses without waiting.
    fn grow_to(&mut self, total: usize) -> Result<(), BodyError> {
        let Some(more) = total.checked_sub(self.bytes).filter(|m| *m > 0) else {
            return Ok(());
        };
        let more = u32::try_from(more).map_err(|_| BodyError::Busy)?;
        let permit = self
            .budget
            .clone()
            .try_acquire_many_owned(more)
            .map_err(|_| BodyError::Busy)?;
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
        self.bytes = total;
        Ok(())
    }
}

/// The largest body a request may send: the body limit, but never more than half the byte
/// budget (a body is held compressed and inflated), so that any body within the limit fits
/// when the receiver is idle: a 503 always means "retry", and a body that could never fit is
/// a 413, not an endless retry.
fn effective_body_limit(limits: &HttpLimits) -> usize {
    limits.body_limit.min(limits.in_flight_bytes / 2)
}

/// Whether the body is gzip (`Ok(true)`), plain (`Ok(false)`), or in an unsupported encoding.
fn gzip_encoded(headers: &HeaderMap) -> Result<bool, BodyError> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(false);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text.eq_ignore_ascii_case("gzip") {
        Ok(true)
    } else if text.is_empty() || text.eq_ignore_ascii_case("identity") {
        Ok(false)
    } else {
        Err(BodyError::Encoding(text.chars().take(40).collect()))
    }
}

/// Reads the body within the limit and the byte budget, and undoes gzip.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    held: &mut Held,
) -> Result<Bytes, BodyError> {
    let gzip = gzip_encoded(headers)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared {
        if n > limit {
            return Err(BodyError::TooLarge(limit));
        }
        // Refused before a byte is read when the budget cannot hold it.
        held.grow_to(n)?;
    }
    let mut raw = Vec::with_capacity(declared.unwrap_or(0));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(BodyError::Read)?;
        if raw.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        held.grow_to(raw.len() + chunk.len())?;
        raw.extend_from_slice(&chunk);
    }
    if !gzip {
        return Ok(Bytes::from(raw));
    }
    // The inflated bytes are held on top of the compressed ones until the request ends.
    let compressed = held.bytes;
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(raw.as_slice());
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = decoder.read(&mut buf).map_err(BodyError::Gzip)?;
        if n == 0 {
            return Ok(Bytes::from(out));
        }
        if out.len() + n > limit {
            return Err(BodyError::TooLarge(limit));
        }
        held.grow_to(compressed + out.len() + n)?;
        out.extend_from_slice(&buf[..n]);
    }
}

/// Decompresses at most `limit` bytes; `Ok(None)` when the output would be larger.
pub fn gunzip_limited(raw: &[u8], limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    // Reading one byte past the limit tells a bomb from a body that fits exactly.
    flate2::read::GzDecoder::new(raw)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)?;
    Ok((out.len() <= limit).then_some(out))
}

/// Runs one input through the receiver's decoding and conversion, as the fuzz target does:
/// `selector` picks protobuf or JSON (bit 0), gzip (bit 1) and the signal (the rest).
#[doc(hidden)]
pub fn fuzz_one(selector: u8, body: &[u8]) {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

    let enc = if selector & 1 == 0 {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    let unzipped;
    let body = if selector & 2 == 0 {
        body
    } else {
        match gunzip_limited(body, 1 << 20) {
            Ok(Some(out)) => {
                unzipped = out;
                &unzipped
            }
            _ => return,
        }
    };
    let limits = crate::store::Limits {
        max_spans: 64,
        max_logs: 64,
        max_metric_points: 64,
        ..Default::default()
    };
    let ingest = Ingest::new(crate::store::Store::new(limits), u64::MAX);
    match (selector >> 2) % 3 {
        0 => {
            if let Ok(req) = decode::<ExportTraceServiceRequest>(body, enc) {
                let _ = ingest.traces(&req);
            }
        }
        1 => {
            if let Ok(req) = decode::<ExportLogsServiceRequest>(body, enc) {
                let _ = ingest.logs(&req);
            }
        }
        _ => {
            if let Ok(req) = decode::<ExportMetricsServiceRequest>(body, enc) {
                let _ = ingest.metrics(&req);
            }
        }
    }
}

/// A body that is not the message its content type promised.
#[derive(Debug, thiserror::Error)]
enum Undecodable {
    #[error(transparent)]
    Protobuf(#[from] prost::DecodeError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

fn decode<M: prost::Message + Default + DeserializeOwned>(
    bytes: &[u8],
    enc: Encoding,
) -> Result<M, Undecodable> {
    Ok(match enc {
        Encoding::Protobuf => M::decode(bytes)?,
        Encoding::Json => serde_json::from_slice(bytes)?,
    })
}

/// A 429 or 503 that tells the sender when to come back (OTLP exporters honour it).
fn retry_later(status: StatusCode, enc: Encoding, message: impl Into<String>) -> Response {
    let mut resp = error(status, enc, message);
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

async fn export<Req, Resp>(
    state: HttpState,
    req: Request,
    handle: fn(&Ingest, &Req) -> Result<Resp, OverBudget>,
) -> Response
where
    Req: prost::Message + Default + DeserializeOwned,
    Resp: prost::Message + Serialize,
{
    let (parts, body) = req.into_parts();
    let Some(enc) = Encoding::from_headers(&parts.headers) else {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Encoding::Json,
            "content type must be application/x-protobuf or application/json",
        );
    };
    if let Err(e) = gzip_encoded(&parts.headers) {
        return error(e.status(), enc, e.to_string());
    }
    let key = parts
        .headers
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok());
    if !state.key.accepts(key) {
        return error(StatusCode::UNAUTHORIZED, enc, "missing or wrong x-api-key");
    }
    // Cheap refusals first: nothing is read or decoded once the item budget is spent.
    if !state.ingest.has_budget() {
        return retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            enc,
            "ingest budget exceeded; retry later",
        );
    }
    let Ok(_slot) = state.requests.clone().try_acquire_owned() else {
        return retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            enc,
            "too many requests in flight; retry later",
        );
    };
    let mut held = Held::new(state.bytes.clone());
    let limits = state.limits;
    let read = read_body(
        &parts.headers,
        body,
        effective_body_limit(&limits),
        &mut held,
    );
    let bytes = match tokio::time::timeout(limits.read_timeout, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            if let BodyError::Read(source) = &e {
                tracing::debug!(error = %source, "OTLP body not read");
            }
            return match e.status() {
                s @ StatusCode::SERVICE_UNAVAILABLE => retry_later(s, enc, e.to_string()),
                s => error(s, enc, e.to_string()),
            };
        }
        Err(_) => {
            let e = BodyError::Timeout(limits.read_timeout);
            return error(e.status(), enc, e.to_string());
        }
    };
    let request: Req = match decode(&bytes, enc) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                enc,
                format!("undecodable body: {e}"),
            );
        }
    };
    // The wire bytes are no longer needed once decoded.
    drop(bytes);
    match handle(&state.ingest, &request) {
        Ok(resp) => reply(StatusCode::OK, enc, &resp),
        Err(OverBudget) => retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            enc,
            "ingest budget exceeded; retry later",
        ),
    }
}

/// The OTLP/HTTP router. The body limit is enforced here (axum's 2 MB default is lifted).
pub fn router(ingest: Arc<Ingest>, key: ApiKey, limits: HttpLimits) -> Router {
    let state = HttpState {
        ingest,
        key,
        limits,
        requests: Arc::new(Semaphore::new(
            limits.max_in_flight.clamp(1, Semaphore::MAX_PERMITS),
        )),
        bytes: Arc::new(Semaphore::new(
            limits.in_flight_bytes.clamp(1, Semaphore::MAX_PERMITS),
        )),
    };
    Router::new()
        .route(
            "/v1/traces",
            post(|State(s): State<HttpState>, req: Request| async move {
                export(s, req, Ingest::traces).await
            }),
        )
        .route(
            "/v1/logs",
            post(|State(s): State<HttpState>, req: Request| async move {
                export(s, req, Ingest::logs).await
            }),
        )
        .route(
            "/v1/metrics",
            post(|State(s): State<HttpState>, req: Request| async move {
                export(s, req, Ingest::metrics).await
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}
