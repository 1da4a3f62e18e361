//! Refusing cross-site form posts (CSRF). The cart cookie is SameSite=Lax already; this is the
//! second line, and the one that also covers browsers without SameSite: a state-changing POST
//! is refused with 403 when the browser says it is cross-site (`Sec-Fetch-Site`), or when its
//! `Origin` is not this host.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::PageError;

pub async fn same_origin_only(req: Request, next: Next) -> Response {
    let authority = req.uri().authority().map(|a| a.as_str().to_owned());
    if is_cross_site(req.headers(), authority.as_deref()) {
        tracing::info!("cross-site form post refused");
        return PageError::new(
            StatusCode::FORBIDDEN,
            "This form was sent from another site, so it was refused. Use the shop's own pages.",
        )
        .into_response();
    }
    next.run(req).await
}

/// `authority` is the request URI's (HTTP/2), used when there is no `Host` header.
fn is_cross_site(headers: &HeaderMap, authority: Option<&str>) -> bool {
    let fetch_site = headers
        .get("sec-fetch-site")
        .map(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if fetch_site == Some(true) {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Older browsers and non-browser clients send no Origin; SameSite covers the former.
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(authority);
    // `Origin: null` (sandboxed or privacy-redirected) has no host and is refused.
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, host)| host.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(origin_host), Some(host)) => !origin_host.eq_ignore_ascii_case(host),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_and_originless_posts_pass() {
        assert!(!is_cross_site(
            &headers(&[("host", "shop.local:8000")]),
            None
        ));
        assert!(!is_cross_site(
            &headers(&[
                ("host", "shop.local:8000"),
                ("origin", "http://shop.local:8000")
            ]),
            None
        ));
        assert!(!is_cross_site(
            &headers(&[
                ("host", "shop.local:8000"),
                ("sec-fetch-site", "same-origin")
            ]),
            None
        ));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            None
        ));
        assert!(is_cross_site(
            &headers(&[
                ("host", "shop.local:8000"),
                ("origin", "http://evil.example")
            ]),
            None
        ));
        assert!(is_cross_site(
            &headers(&[
                ("host", "shop.local:8000"),
                ("origin", "http://shop.local:9999")
            ]),
            None
        ));
        assert!(is_cross_site(
            &headers(&[("host", "shop.local:8000"), ("origin", "null")]),
            None
        ));
    }
}
