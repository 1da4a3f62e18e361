//! Access control. Bound to loopback (the default), nothing is required. Bound to any other
//! address, the UI and API need the token printed at start-up (as `Authorization: Bearer`, the
//! `apiary_token` cookie, or once as `?token=` which sets the cookie) and OTLP needs the
//! `x-api-key` header — unless started `--unsecured`, which is announced loudly.
//!
//! Whatever the mode, the UI and API answer only to the host names they expect
//! ([`AllowedHosts`]): on loopback there is no token, so without this a web page could rebind
//! its own DNS name to 127.0.0.1 and read the dashboard (and drive its control plane) from the
//! visitor's browser.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};

pub const API_KEY_HEADER: &str = "x-api-key";
pub const TOKEN_COOKIE: &str = "apiary_token";

/// Compares in constant time (`subtle`), so timing does not reveal a matching prefix. Only
/// the length may differ in time, and a token's length is no secret.
pub(crate) fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The OTLP key; `None` means none is required. `Debug` never prints it.
#[derive(Debug, Clone, Default)]
pub struct ApiKey(pub Option<SecretString>);

impl ApiKey {
    pub fn accepts(&self, given: Option<&str>) -> bool {
        match &self.0 {
            None => true,
            Some(key) => given.is_some_and(|g| same(g, key.expose_secret())),
        }
    }
}

/// The UI/API token; `None` means none is required. `Debug` never prints it.
#[derive(Debug, Clone, Default)]
pub struct Token(pub Option<SecretString>);

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

/// The `Host` names the UI and API answer to (the DNS rebinding defence).
///
/// Allowed without configuration: `localhost` and its subdomains (browsers resolve them to
/// loopback themselves), loopback addresses, the bound address, and — when bound to every
/// interface — any IP address: a rebinding attack needs a DNS name the attacker controls, so
/// an address literal in `Host` is always what the user typed. Other names (a proxy's, a
/// machine's) are added with `DASHBOARD_ALLOWED_HOSTS`; `*` there turns the check off.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    bind: IpAddr,
    /// Extra names, lower case, without port or trailing dot.
    names: Arc<[String]>,
    any: bool,
}

impl AllowedHosts {
    pub fn new(bind: IpAddr, extra: &[String]) -> Self {
        let names: Vec<String> = extra
            .iter()
            .map(|n| normalize(n))
            .filter(|n| !n.is_empty())
            .collect();
        Self {
            bind,
            any: names.iter().any(|n| n == "*"),
            names: names.into(),
        }
    }

    /// Whether a `Host` header value (name or address, with or without port) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        if self.any {
            return true;
        }
        let Ok(authority) = host.parse::<axum::http::uri::Authority>() else {
            return false;
        };
        let name = normalize(authority.host());
        if name == "localhost" || name.ends_with(".localhost") {
            return true;
        }
        if let Ok(ip) = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return ip.is_loopback() || ip == self.bind || self.bind.is_unspecified();
        }
        self.names.contains(&name)
    }
}

fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Middleware answering 403 to a request for a host name that is not allowed.
pub async fn require_allowed_host(
    State(hosts): State<AllowedHosts>,
    req: Request,
    next: Next,
) -> Response {
    // HTTP/2 carries the host in the URI (`:authority`), HTTP/1.1 in the header.
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    if host.is_some_and(|h| hosts.allows(h)) {
        return next.run(req).await;
    }
    let shown: String = host.unwrap_or("").chars().take(64).collect();
    apiary_chassis::json_error(
        StatusCode::FORBIDDEN,
        "host_not_allowed",
        format!(
            "this dashboard does not answer to host '{shown}': add it to DASHBOARD_ALLOWED_HOSTS"
        ),
    )
    .into_response()
}

/// Middleware guarding the UI and API.
pub async fn require_token(State(token): State<Token>, req: Request, next: Next) -> Response {
    let Some(expected) = token.0.as_ref().map(ExposeSecret::expose_secret) else {
        return next.run(req).await;
    };
    let headers = req.headers();
    if bearer(headers).is_some_and(|t| same(t, expected))
        || cookie_token(headers).is_some_and(|t| same(t, expected))
    {
        return next.run(req).await;
    }
    if query_token(&req).is_some_and(|t| same(&t, expected)) {
        let mut resp = next.run(req).await;
        let cookie = format!("{TOKEN_COOKIE}={expected}; Path=/; HttpOnly; SameSite=Strict");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, value);
        }
        return resp;
    }
    apiary_chassis::json_error(
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
        let key = ApiKey(Some("s3cret".into()));
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
    fn hosts_are_checked_by_name_without_port() {
        let loopback = AllowedHosts::new(IpAddr::from([127, 0, 0, 1]), &["Dash.Example.".into()]);
        for ok in [
            "localhost:8080",
            "LOCALHOST",
            "app.localhost:1",
            "127.0.0.1:8080",
            "127.0.0.2",
            "[::1]:8080",
            "dash.example:443",
            "dash.example.",
        ] {
            assert!(loopback.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example:8080",
            "localhost.evil.example",
            "10.0.0.5:8080",
            "",
            "a b",
        ] {
            assert!(!loopback.allows(refused), "{refused}");
        }
        let everywhere = AllowedHosts::new(IpAddr::from([0, 0, 0, 0]), &[]);
        assert!(everywhere.allows("10.0.0.5:8080"));
        assert!(!everywhere.allows("evil.example"));
        let bound = AllowedHosts::new(IpAddr::from([10, 0, 0, 5]), &[]);
        assert!(bound.allows("10.0.0.5:8080"));
        assert!(!bound.allows("10.0.0.6:8080"));
        assert!(AllowedHosts::new(IpAddr::from([127, 0, 0, 1]), &["*".into()]).allows("any.name"));
    }

    #[test]
    fn generated_tokens_are_random_hex() {
        let a = generate_token().expect("urandom");
        let b = generate_token().expect("urandom");
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
