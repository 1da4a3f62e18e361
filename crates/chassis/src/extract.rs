//! Extractors whose rejections are the standard JSON error body.
//!
//! axum's own `Json`, `Query` and `Path` reject bad input with a plain-text body; every Apiary
//! service answers `{"error": {"code", "message"}}` instead, so handlers take these wrappers.
//! Bodies must be `application/json` (415 otherwise — this also keeps HTML forms from other
//! sites out of JSON APIs), syntax errors are 400, well-formed JSON of the wrong shape is 422,
//! and an oversized body is 413.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::json_error;

/// A JSON request body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Query parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

/// Path parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

/// A rejected extraction, answered with the JSON error body.
#[derive(Debug)]
pub struct Rejection {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        json_error(self.status, self.code, self.message)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(mut value) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(json_rejection)?;
        integral_floats_as_integers(&mut value);
        serde_path_to_error::deserialize(value)
            .map(Json)
            .map_err(|err| Rejection {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid_body",
                message: format!(
                    "Failed to deserialize the JSON body into the target type: {}: {}",
                    err.path(),
                    err.inner()
                ),
            })
    }
}

/// JSON has one number type: `2.0` and `2` are the same integer (JSON Schema counts both as
/// `integer`, and OpenAPI 3.1 clients may send either), but serde refuses a float where an
/// integer field is declared. Numbers with no fractional part that fit an `i64`/`u64` are
/// made integers before the body is deserialised; any other float stays a float.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64())
                && f.fract() == 0.0
            {
                // 2^63 and 2^64 bound the exactly representable integer floats of each type.
                if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
                    *value = Value::from(f as i64);
                } else if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                    *value = Value::from(f as u64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

fn json_rejection(rejection: JsonRejection) -> Rejection {
    let (status, code) = match &rejection {
        JsonRejection::MissingJsonContentType(_) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
        }
        JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
        JsonRejection::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
        }
        _ => (StatusCode::BAD_REQUEST, "bad_body"),
    };
    Rejection {
        status,
        code,
        message: rejection.body_text(),
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| Rejection {
                status: StatusCode::BAD_REQUEST,
                code: "bad_query",
                message: e.body_text(),
            })
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e: PathRejection| Rejection {
                status: StatusCode::BAD_REQUEST,
                code: "bad_path",
                message: e.body_text(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use tower::ServiceExt;

    #[derive(serde::Deserialize)]
    struct Item {
        #[allow(dead_code)]
        quantity: u32,
    }

    async fn call(content_type: &str, body: &'static str) -> (StatusCode, serde_json::Value) {
        let app = Router::new().route("/", post(|Json(_): Json<Item>| async { "ok" }));
        let req = axum::http::Request::post("/")
            .header("content-type", content_type)
            .body(Body::from(body))
            .expect("request");
        let resp = app.oneshot(req).await.expect("response");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[tokio::test]
    async fn bad_bodies_get_the_json_error_body() {
        let (status, body) = call("text/plain", r#"{"quantity":1}"#).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(body["error"]["code"], "unsupported_media_type");
        let (status, body) = call("application/json", "{").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "malformed_json");
        let (status, body) = call("application/json", r#"{"quantity":-1}"#).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["code"], "invalid_body");
        let (status, _) = call("application/json", r#"{"quantity":2}"#).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn an_integral_float_is_an_integer_and_a_fraction_is_not() {
        let (status, _) = call("application/json", r#"{"quantity":2.0}"#).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call("application/json", r#"{"quantity":1e3}"#).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = call("application/json", r#"{"quantity":2.5}"#).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message
                .starts_with("Failed to deserialize the JSON body into the target type: quantity:"),
            "{message}"
        );
        let (status, _) = call("application/json", r#"{"quantity":-3.0}"#).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn nested_integral_floats_become_integers_within_range() {
        let mut value = serde_json::json!({"a": [1.0, 1.5, {"b": -4.0}], "c": 1e30, "d": "2.0"});
        integral_floats_as_integers(&mut value);
        assert_eq!(value["a"][0], serde_json::json!(1));
        assert!(value["a"][0].is_i64());
        assert!(value["a"][1].is_f64());
        assert_eq!(value["a"][2]["b"], serde_json::json!(-4));
        assert!(value["c"].is_f64(), "out of range stays a float");
        assert_eq!(value["d"], "2.0");
    }
}
