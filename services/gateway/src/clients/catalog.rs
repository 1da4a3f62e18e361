//! The catalog client.

use std::time::Duration;

use apiary_telemetry::{CallError, HttpClient};
use apiary_wire::{ErrorBody, Product, ProductPage};
use reqwest::StatusCode;

/// How a catalog call can fail, in terms the gateway can answer with.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The catalog refused the request (4xx): its verdict on the shopper's input.
    #[error("catalog refused the request: {}", .body.error.message)]
    Rejected { status: StatusCode, body: ErrorBody },
    #[error("catalog is unavailable: {0}")]
    Unavailable(#[source] CallError),
    #[error("catalog did not answer in time: {0}")]
    Timeout(#[source] CallError),
    /// 5xx, or an answer that is not what the contract says.
    #[error("catalog failed: {0}")]
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct CatalogClient {
    http: HttpClient,
}

/// Listing filters forwarded to the catalog as they came (the catalog validates them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    pub category: Option<String>,
    pub q: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
}

impl CatalogClient {
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: HttpClient::new("catalog", base_url, timeout)?,
        })
    }

    pub async fn list(&self, params: &ListParams) -> Result<ProductPage, CatalogError> {
        let query: Vec<(&str, &str)> = [
            ("category", &params.category),
            ("q", &params.q),
            ("limit", &params.limit),
            ("offset", &params.offset),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect();
        let request = self.http.get("/products").query(&query);
        self.call("/products", request).await
    }

    pub async fn get(&self, id: &str) -> Result<Product, CatalogError> {
        // Percent-encode whatever the shopper sent; the catalog decides if it is an id.
        let path = format!("/products/{}", encode_segment(id));
        let request = self.http.get(&path);
        self.call("/products/{id}", request).await
    }

    /// Readiness: the catalog process answers its liveness probe.
    pub async fn live(&self) -> Result<(), String> {
        let resp = self
            .http
            .send("/health/live", self.http.get("/health/live"))
            .await
            .map_err(|e| format!("catalog unreachable: {}", e.kind()))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("catalog liveness answered {}", resp.status()))
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        template: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, CatalogError> {
        // Catalog reads are idempotent: retried within the retry budget and the deadline.
        let resp = self
            .http
            .send_idempotent(template, request)
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    CatalogError::Timeout(e)
                } else if e.is_unavailable() {
                    CatalogError::Unavailable(e)
                } else {
                    CatalogError::Failed(format!("transport error: {}", e.kind()))
                }
            })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| {
            if e.is_timeout() {
                CatalogError::Timeout(CallError::Transport(e))
            } else {
                CatalogError::Failed("response body cut short".to_owned())
            }
        })?;
        if status.is_success() {
            serde_json::from_slice(&bytes)
                .map_err(|e| CatalogError::Failed(format!("malformed response: {e}")))
        } else if status.is_client_error() {
            let body = serde_json::from_slice::<ErrorBody>(&bytes)
                .map_err(|_| CatalogError::Failed(format!("{status} without an error body")))?;
            Err(CatalogError::Rejected { status, body })
        } else {
            Err(CatalogError::Failed(format!("answered {status}")))
        }
    }
}

/// Percent-encodes one path segment (a `/` or `?` in it must not change the route).
fn encode_segment(segment: &str) -> String {
    let mut url = reqwest::Url::parse("http://segment.invalid/").expect("static URL parses");
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.push(segment);
    }
    url.path().trim_start_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::encode_segment;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode_segment("BK-0001"), "BK-0001");
        assert_eq!(encode_segment("../admin?x=1"), "..%2Fadmin%3Fx=1");
        assert_eq!(encode_segment("a b"), "a%20b");
    }
}
