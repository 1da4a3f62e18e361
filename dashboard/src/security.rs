//! Access control. Bound to loopback (the default), nothing is required. Bound to any other
//! address, the UI and API need the token printed at start-up (as `Authorization: Bearer`, the
//! `apiary_token` cookie, or once as `?token=` which sets the cookie) and OTLP needs the
//! `x-api-key` header — unless started `--unsecured`, which is announced loudly.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub const API_KEY_HEADER: &str = "x-api-key";
pub const TOKEN_COOKIE: &str = "apiary_token";

/// Compares without an early exit, so timing does not reveal a prefix.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The OTLP key; `None` means none is required.
#[derive(Debug, Clone, Default)]
pub struct ApiKey(pub Option<Arc<str>>);

impl ApiKey {
    pub fn accepts(&self, given: Option<&str>) -> bool {
        match &self.0 {
            None => true,
            Some(key) => given.is_some_and(|g| same(g, key)),
        }
    }
}

/// The UI/API token; `None` means none is required.
#[derive(Debug, Clone, Default)]
pub struct Token(pub Option<Arc<str>>);

fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == TOKEN_COOKIE)
        .map(|(_, v)| v)
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn query_token(req: &Request) -> Option<String> {
    req.uri()
        .query()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v.to_owned())
}

/// Middleware guarding the UI and API.
pub async fn require_token(State(token): State<Token>, req: Request, next: Next) -> Response {
    let Some(expected) = token.0.clone() else {
        return next.run(req).await;
    };
    let headers = req.headers();
    if bearer(headers).is_some_and(|t| same(t, &expected))
        || cookie_token(headers).is_some_and(|t| same(t, &expected))
    {
        return next.run(req).await;
    }
    if query_token(&req).is_some_and(|t| same(&t, &expected)) {
        let mut resp = next.run(req).await;
        let cookie = format!("{TOKEN_COOKIE}={expected}; Path=/; HttpOnly; SameSite=Strict");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, value);
        }
        return resp;
    }
    apiary_telemetry::json_error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this dashboard is not on loopback: pass the token printed at start-up",
    )
    .into_response()
}

/// Marks every API response of a dashboard started `--unsecured` off loopback.
pub async fn add_unsecured_warning(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        "x-apiary-warning",
        HeaderValue::from_static("unsecured: this dashboard accepts anyone on the network"),
    );
    resp
}

/// A random token from the OS (hex, 32 characters).
pub fn generate_token() -> std::io::Result<String> {
    apiary_manifest::random_token()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_exactly() {
        let key = ApiKey(Some(Arc::from("s3cret")));
        assert!(key.accepts(Some("s3cret")));
        assert!(!key.accepts(Some("s3cre")));
        assert!(!key.accepts(Some("s3cret!")));
        assert!(!key.accepts(None));
        assert!(ApiKey::default().accepts(None));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; apiary_token=xyz; b=2"),
        );
        assert_eq!(cookie_token(&h), Some("xyz"));
    }

    #[test]
    fn generated_tokens_are_random_hex() {
        let a = generate_token().expect("urandom");
        let b = generate_token().expect("urandom");
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
