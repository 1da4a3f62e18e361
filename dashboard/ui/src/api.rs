//! Reading the dashboard API from a component, one typed call per read. The same call works
//! on both sides: rendering on the server it calls the functions the API's handlers call, in
//! process ([`crate::server::ApiSource`]: no socket, no JSON); in the browser it is a `fetch`
//! of the API path, so the page sends the same token cookie the API checks.

use std::future::Future;

use dashboard_api::{
    Drills, LogRecord, LogSearch, Report, Runs, ServiceDetail, TraceComparison, TraceDetail,
    TraceSearch, TraceSummary,
};

/// Why a read failed, as the page shows it (serialised with the page's resources, so the
/// browser hydrates the same error the server rendered).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ApiError {
    /// The API refused the read (4xx/5xx) with this message.
    Refused { status: u16, message: String },
    /// The API could not be reached, or its answer could not be read.
    Unreachable(String),
    /// The page was rendered without an API to read (a build or set-up mistake).
    NoApi,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Refused { message, .. } => f.write_str(message),
            ApiError::Unreachable(why) => write!(f, "the dashboard cannot be reached: {why}"),
            ApiError::NoApi => f.write_str("the page was rendered without an API"),
        }
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

/// The API's `{"error": {"message"}}`, or the status when the body is something else.
pub fn error_message(status: u16, body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("the API answered {status}"))
}

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

/// A read that works on either side: `$server` is the [`crate::server::ApiSource`] call, `$path`
/// the API path the browser fetches (evaluated only on the side that uses it).
macro_rules! read {
    ($self:ident, $ty:ty, |$source:ident| $server:expr, $path:expr) => {{
        #[cfg(feature = "ssr")]
        {
            let backend = $self.backend.clone();
            async move {
                let $source = backend.ok_or(ApiError::NoApi)?.0;
                $server.await
            }
        }
        #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
        {
            browser::get::<$ty>($path)
        }
        #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
        {
            let _ = &$path;
            async move { Err::<$ty, _>(ApiError::NoApi) }
        }
    }};
}

impl Api {
    pub fn new() -> Self {
        Self {
            #[cfg(feature = "ssr")]
            backend: leptos::prelude::use_context::<crate::server::Backend>(),
        }
    }

    /// `GET /api/services/{name}`.
    pub fn service(
        &self,
        name: String,
    ) -> impl Future<Output = ApiResult<ServiceDetail>> + Send + 'static + use<> {
        read!(
            self,
            ServiceDetail,
            |source| source.service(name),
            format!("/api/services/{}", encode(&name))
        )
    }

    /// `GET /api/traces?...`.
    pub fn traces(
        &self,
        search: TraceSearch,
    ) -> impl Future<Output = ApiResult<Vec<TraceSummary>>> + Send + 'static + use<> {
        read!(
            self,
            Vec<TraceSummary>,
            |source| source.traces(search),
            format!("/api/traces{}", query(&search.pairs()))
        )
    }

    /// `GET /api/traces/{trace_id}`.
    pub fn trace(
        &self,
        id: String,
    ) -> impl Future<Output = ApiResult<TraceDetail>> + Send + 'static + use<> {
        read!(
            self,
            TraceDetail,
            |source| source.trace(id),
            format!("/api/traces/{}", encode(&id))
        )
    }

    /// `GET /api/traces/compare?a=&b=`.
    pub fn compare(
        &self,
        a: String,
        b: String,
    ) -> impl Future<Output = ApiResult<TraceComparison>> + Send + 'static + use<> {
        read!(
            self,
            TraceComparison,
            |source| source.compare(a, b),
            format!("/api/traces/compare{}", query(&[("a", &a), ("b", &b)]))
        )
    }

    /// `GET /api/logs?...`.
    pub fn logs(
        &self,
        search: LogSearch,
    ) -> impl Future<Output = ApiResult<Vec<LogRecord>>> + Send + 'static + use<> {
        read!(
            self,
            Vec<LogRecord>,
            |source| source.logs(search),
            format!("/api/logs{}", query(&search.pairs()))
        )
    }

    /// `GET /api/drills`.
    pub fn drills(&self) -> impl Future<Output = ApiResult<Drills>> + Send + 'static + use<> {
        read!(
            self,
            Drills,
            |source| source.drills(),
            "/api/drills".to_owned()
        )
    }

    /// `GET /api/drills/runs`.
    pub fn runs(&self) -> impl Future<Output = ApiResult<Runs>> + Send + 'static + use<> {
        read!(
            self,
            Runs,
            |source| source.runs(),
            "/api/drills/runs".to_owned()
        )
    }

    /// `GET /api/drills/runs/{id}`.
    pub fn report(
        &self,
        id: String,
    ) -> impl Future<Output = ApiResult<Report>> + Send + 'static + use<> {
        read!(
            self,
            Report,
            |source| source.report(id),
            format!("/api/drills/runs/{}", encode(&id))
        )
    }
}

#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
mod browser {
    use std::future::Future;

    use serde::de::DeserializeOwned;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use super::{ApiError, ApiResult};

    fn js(e: JsValue) -> ApiError {
        ApiError::Unreachable(e.as_string().unwrap_or_else(|| "fetch failed".to_owned()))
    }

    async fn text(path: &str) -> ApiResult<String> {
        let window = web_sys::window().ok_or(ApiError::Unreachable("no window".to_owned()))?;
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
            return Err(ApiError::Refused {
                status: resp.status(),
                message: super::error_message(resp.status(), &text),
            });
        }
        Ok(text)
    }

    /// `fetch` of `path`, decoded. Browser futures are not Send; they only ever run on the one
    /// browser thread.
    pub fn get<T: DeserializeOwned + 'static>(
        path: String,
    ) -> impl Future<Output = ApiResult<T>> + Send + 'static {
        send_wrapper::SendWrapper::new(async move {
            let text = text(&path).await?;
            serde_json::from_str(&text)
                .map_err(|e| ApiError::Unreachable(format!("unexpected answer from the API: {e}")))
        })
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
