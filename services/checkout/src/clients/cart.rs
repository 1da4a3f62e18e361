use apiary_chassis::{DownstreamError, HttpClient, Idempotency, encode_segment};
use apiary_wire::shop::Cart;

use crate::domain::CartId;

#[derive(Debug, Clone)]
pub struct CartClient(pub(super) HttpClient);

impl CartClient {
    /// The underlying client (readiness probes, breaker state).
    pub fn http(&self) -> &HttpClient {
        &self.0
    }

    pub async fn get(&self, id: &CartId) -> Result<Cart, DownstreamError> {
        let path = format!("/carts/{}", encode_segment(id.as_str()));
        self.0
            .call_json(
                "/carts/{cart_id}",
                self.0.get(&path),
                Idempotency::Idempotent,
            )
            .await
    }

    /// Empties the cart after an order (deleting twice is fine).
    pub async fn empty(&self, id: &CartId) -> Result<(), DownstreamError> {
        let path = format!("/carts/{}", encode_segment(id.as_str()));
        self.0
            .call_no_content(
                "/carts/{cart_id}",
                self.0.delete(&path),
                Idempotency::Idempotent,
            )
            .await
    }
}
