//! OTLP/HTTP (port 4318): `POST /v1/traces`, `/v1/logs`, `/v1/metrics`, protobuf or JSON,
//! optionally gzip-compressed, answering as the OTLP specification says:
//! 200 (with `partial_success` when items were rejected), 400 undecodable, 401 bad key,
//! 413 over the body limit, 415 unsupported content type, 429 + `Retry-After` over budget.
//! The response's content type matches the request's.

use std::io::Read;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde::de::DeserializeOwned;

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
    // gRPC codes: 3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, 16 UNAUTHENTICATED.
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS | StatusCode::PAYLOAD_TOO_LARGE => 8,
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

#[derive(Clone)]
struct HttpState {
    ingest: Arc<Ingest>,
    key: ApiKey,
    body_limit: usize,
}

/// Reads the body within the limit and undoes gzip; `Err` is the response to send.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    enc: Encoding,
) -> Result<Bytes, Response> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            enc,
            format!("body larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let raw = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Ok(raw);
    }
    match gunzip_limited(&raw, limit) {
        Ok(Some(out)) => Ok(Bytes::from(out)),
        Ok(None) => Err(too_large()),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            enc,
            format!("bad gzip body: {e}"),
        )),
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

fn decode<M: prost::Message + Default + DeserializeOwned>(
    bytes: &[u8],
    enc: Encoding,
) -> Result<M, String> {
    match enc {
        Encoding::Protobuf => M::decode(bytes).map_err(|e| e.to_string()),
        Encoding::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
    }
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
    let key = parts
        .headers
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok());
    if !state.key.accepts(key) {
        return error(StatusCode::UNAUTHORIZED, enc, "missing or wrong x-api-key");
    }
    let bytes = match read_body(&parts.headers, body, state.body_limit, enc).await {
        Ok(bytes) => bytes,
        Err(resp) => return resp,
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
    match handle(&state.ingest, &request) {
        Ok(resp) => reply(StatusCode::OK, enc, &resp),
        Err(OverBudget) => {
            let mut resp = error(
                StatusCode::TOO_MANY_REQUESTS,
                enc,
                "ingest budget exceeded; retry later",
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            resp
        }
    }
}

/// The OTLP/HTTP router. The body limit is enforced here (axum's 2 MB default is lifted).
pub fn router(ingest: Arc<Ingest>, key: ApiKey, body_limit: usize) -> Router {
    let state = HttpState {
        ingest,
        key,
        body_limit,
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
