//! The inventory client (stock levels only; reservations are the checkout's business).

use apiary_chassis::{DownstreamError, HttpClient, Idempotency, encode_segment};

// Reads, but sent once (no retries): every caller treats this data as optional and degrades
// without it, so a retry after a timeout would only make the shopper's page slower.
use apiary_wire::shop::{StockLevel, StockLevels};

#[derive(Debug, Clone)]
pub struct InventoryClient {
    http: HttpClient,
}

impl InventoryClient {
    pub fn new(http: HttpClient) -> Self {
        Self { http }
    }

    /// `GET /stock/{id}`.
    pub async fn stock(&self, product_id: &str) -> Result<StockLevel, DownstreamError> {
        let request = self
            .http
            .get(&format!("/stock/{}", encode_segment(product_id)));
        self.http
            .call_json("/stock/{product_id}", request, Idempotency::Once)
            .await
    }

    /// `GET /stock?ids=a,b`. No ids, no call.
    pub async fn stock_of(&self, product_ids: &[&str]) -> Result<StockLevels, DownstreamError> {
        if product_ids.is_empty() {
            return Ok(StockLevels { items: Vec::new() });
        }
        let request = self
            .http
            .get("/stock")
            .query(&[("ids", product_ids.join(","))]);
        self.http
            .call_json("/stock", request, Idempotency::Once)
            .await
    }
}
