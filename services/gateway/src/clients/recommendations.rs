//! The recommendations client.

use apiary_telemetry::{DownstreamError, HttpClient, Idempotency, encode_segment};

// Reads, but sent once (no retries): every caller treats this data as optional and degrades
// without it, so a retry after a timeout would only make the shopper's page slower.
use apiary_wire::shop::Recommendations;

#[derive(Debug, Clone)]
pub struct RecommendationsClient {
    http: HttpClient,
}

impl RecommendationsClient {
    pub fn new(http: HttpClient) -> Self {
        Self { http }
    }

    /// `GET /recommendations/{id}?limit=`: product ids only; the caller fetches details.
    pub async fn for_product(
        &self,
        product_id: &str,
        limit: u32,
    ) -> Result<Recommendations, DownstreamError> {
        let request = self
            .http
            .get(&format!("/recommendations/{}", encode_segment(product_id)))
            .query(&[("limit", limit)]);
        self.http
            .call_json("/recommendations/{product_id}", request, Idempotency::Once)
            .await
    }
}
