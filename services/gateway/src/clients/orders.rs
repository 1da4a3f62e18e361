//! The orders client.

use apiary_chassis::{DownstreamError, HttpClient, Idempotency, encode_segment};
use apiary_wire::shop::Order;

#[derive(Debug, Clone)]
pub struct OrdersClient {
    http: HttpClient,
}

impl OrdersClient {
    pub fn new(http: HttpClient) -> Self {
        Self { http }
    }

    /// `GET /orders/{order_id}` (404 for an order it does not know).
    pub async fn get(&self, order_id: &str) -> Result<Order, DownstreamError> {
        let request = self
            .http
            .get(&format!("/orders/{}", encode_segment(order_id)));
        self.http
            .call_json("/orders/{order_id}", request, Idempotency::Idempotent)
            .await
    }
}
