//! The orders client: the order feed, nothing else.

use apiary_chassis::{Downstream, DownstreamError, HttpClient, Idempotency};
use apiary_wire::shop::OrderFeed;

/// Orders asked for per feed call.
pub const PAGE_SIZE: usize = 500;

#[derive(Debug, Clone)]
pub struct OrdersClient {
    http: HttpClient,
}

impl OrdersClient {
    pub fn new(orders: &Downstream) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: orders.client("orders", None)?,
        })
    }

    /// Up to `limit` orders after `after_seq`, oldest first. A read: safe to retry.
    pub async fn feed(&self, after_seq: i64, limit: usize) -> Result<OrderFeed, DownstreamError> {
        let request = self.http.get("/orders").query(&[
            ("after_seq", after_seq.to_string()),
            ("limit", limit.to_string()),
        ]);
        self.http
            .call_json("/orders", request, Idempotency::Idempotent)
            .await
    }
}
