//! The reviews client.

use apiary_telemetry::{DownstreamError, HttpClient, Idempotency, encode_segment};

// Reads, but sent once (no retries): every caller treats this data as optional and degrades
// without it, so a retry after a timeout would only make the shopper's page slower.
use apiary_wire::shop::ProductReviews;

#[derive(Debug, Clone)]
pub struct ReviewsClient {
    http: HttpClient,
}

impl ReviewsClient {
    pub fn new(http: HttpClient) -> Self {
        Self { http }
    }

    /// `GET /products/{id}/reviews?limit=`: the newest `limit` reviews and the rating summary.
    pub async fn for_product(
        &self,
        product_id: &str,
        limit: u32,
    ) -> Result<ProductReviews, DownstreamError> {
        let request = self
            .http
            .get(&format!("/products/{}/reviews", encode_segment(product_id)))
            .query(&[("limit", limit)]);
        self.http
            .call_json("/products/{product_id}/reviews", request, Idempotency::Once)
            .await
    }
}
