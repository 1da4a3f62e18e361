//! Cross-site request refusal (CSRF), shared by the gateway's HTML forms and the dashboard's
//! control plane: a state-changing request is cross-site when the browser says so
//! (`Sec-Fetch-Site: cross-site`), or when its `Origin` is not this host (`Origin: null`
//! included). Clients that send no `Origin` (curl, the CLI, old browsers) pass; JSON-only
//! bodies and tokens are the other defences.

use axum::http::{HeaderMap, header};

/// `authority` is the request URI's (HTTP/2), used when there is no `Host` header.
pub fn is_cross_site(headers: &HeaderMap, authority: Option<&str>) -> bool {
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
