//! The shopper's cart id in the `apiary_cart` cookie: created on the first add, HttpOnly (no
//! script reads it), SameSite=Lax (not sent on cross-site POSTs), for the whole site.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::domain::CartId;

pub const COOKIE: &str = "apiary_cart";

/// The cart id from the request's cookies; a malformed value counts as none.
pub fn cart_id(headers: &HeaderMap) -> Option<CartId> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .and_then(|(_, value)| CartId::parse(value.trim_matches('"')).ok())
}

/// The `Set-Cookie` value for `cart_id` (a session cookie: carts expire on their own).
pub fn set_cookie(cart_id: &CartId) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{COOKIE}={cart_id}; Path=/; HttpOnly; SameSite=Lax"
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(cookie).expect("header"),
        );
        h
    }

    #[test]
    fn the_cart_cookie_is_found_among_others() {
        let id = cart_id(&headers("theme=dark; apiary_cart=abc-123; x=1")).expect("cookie");
        assert_eq!(id.as_str(), "abc-123");
        assert_eq!(cart_id(&headers("apiary_cart=../etc")), None);
        assert_eq!(cart_id(&headers("other=1")), None);
        assert_eq!(cart_id(&HeaderMap::new()), None);
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site() {
        let v = set_cookie(&CartId::parse("abc").expect("id")).expect("value");
        let v = v.to_str().expect("ascii");
        assert!(v.starts_with("apiary_cart=abc;"));
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Lax") && v.contains("Path=/"));
    }
}
