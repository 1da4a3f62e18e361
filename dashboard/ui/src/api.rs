//! Reading the dashboard API from a component. The same call works on both sides: rendering
//! on the server it goes straight to the API router in process (no socket, see
//! [`crate::server::Backend`]); in the browser it is a `fetch` of the same path, so the page
//! sends the same token cookie the API checks.

use std::future::Future;

use serde::de::DeserializeOwned;

/// A handle taken while a component is set up (on the server the backend comes from context).
#[derive(Clone, Default)]
pub struct Api {
    #[cfg(feature = "ssr")]
    backend: Option<crate::server::Backend>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Api")
    }
}

/// Why a read failed, as the page shows it.
pub type ApiResult<T> = Result<T, String>;

fn decode<T: DeserializeOwned>(text: &str) -> ApiResult<T> {
    serde_json::from_str(text).map_err(|e| format!("unexpected answer from the API: {e}"))
}

/// The API's `{"error": {"message"}}`, or the status when the body is something else.
pub fn error_message(status: u16, body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("the API answered {status}"))
}

impl Api {
    pub fn new() -> Self {
        Self {
            #[cfg(feature = "ssr")]
            backend: leptos::prelude::use_context::<crate::server::Backend>(),
        }
    }

    /// GET `path` (with its query) and decode the JSON.
    #[cfg(feature = "ssr")]
    pub fn get<T: DeserializeOwned + 'static>(
        &self,
        path: String,
    ) -> impl Future<Output = ApiResult<T>> + Send + 'static + use<T> {
        let backend = self.backend.clone();
        async move {
            let backend =
                backend.ok_or_else(|| "the page was rendered without an API".to_owned())?;
            let (status, text) = backend.0.get(path).await;
            if !(200..300).contains(&status) {
                return Err(error_message(status, &text));
            }
            decode(&text)
        }
    }

    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    pub fn get<T: DeserializeOwned + 'static>(
        &self,
        path: String,
    ) -> impl Future<Output = ApiResult<T>> + Send + 'static + use<T> {
        // Browser futures are not Send; they only ever run on the one browser thread.
        send_wrapper::SendWrapper::new(async move {
            let text = browser::get(&path).await?;
            decode(&text)
        })
    }

    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    pub fn get<T: DeserializeOwned + 'static>(
        &self,
        path: String,
    ) -> impl Future<Output = ApiResult<T>> + Send + 'static + use<T> {
        async move {
            let _ = path;
            Err("built without `ssr` or `hydrate`: no way to reach the API".to_owned())
        }
    }
}

#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
mod browser {
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    fn js(e: JsValue) -> String {
        e.as_string()
            .unwrap_or_else(|| "the dashboard cannot be reached".to_owned())
    }

    pub async fn get(path: &str) -> Result<String, String> {
        let window = web_sys::window().ok_or("no window")?;
        let resp = JsFuture::from(window.fetch_with_str(path))
            .await
            .map_err(js)?;
        let resp: web_sys::Response = resp.dyn_into().map_err(js)?;
        let text = JsFuture::from(resp.text().map_err(js)?)
            .await
            .map_err(js)?
            .as_string()
            .unwrap_or_default();
        if !resp.ok() {
            return Err(super::error_message(resp.status(), &text));
        }
        Ok(text)
    }
}

/// `?a=b&c=d` from pairs, skipping empty values, percent-encoding what needs it.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        out.push(if out.is_empty() { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

/// Everything but RFC 3986's unreserved characters is percent-encoded in a query value.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
pub fn encode(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_skip_empty_values_and_encode() {
        assert_eq!(query(&[("service", "cart"), ("q", "")]), "?service=cart");
        assert_eq!(query(&[("q", "a b&c")]), "?q=a%20b%26c");
        assert_eq!(query(&[]), "");
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message(
                400,
                r#"{"error":{"code":"bad_request","message":"limit must be"}}"#
            ),
            "limit must be"
        );
        assert_eq!(error_message(502, "<html>"), "the API answered 502");
    }
}
