use apiary_chassis::{DownstreamError, HttpClient, Idempotency, encode_segment};
use apiary_wire::shop::{NewOrder, Order};

use crate::domain::CheckoutId;

#[derive(Debug, Clone)]
pub struct OrdersClient(pub(super) HttpClient);

impl OrdersClient {
    /// The underlying client (readiness probes, breaker state).
    pub fn http(&self) -> &HttpClient {
        &self.0
    }

    /// Records the order; idempotent by order id at the orders service.
    pub async fn record(&self, order: &NewOrder) -> Result<Order, DownstreamError> {
        let request = self.0.post("/orders").json(order);
        self.0
            .call_json("/orders", request, Idempotency::Idempotent)
            .await
    }

    /// The order a checkout id produced, if any (`None` on 404).
    pub async fn find(&self, id: &CheckoutId) -> Result<Option<Order>, DownstreamError> {
        let path = format!("/orders/{}", encode_segment(id.as_str()));
        match self
            .0
            .call_json(
                "/orders/{order_id}",
                self.0.get(&path),
                Idempotency::Idempotent,
            )
            .await
        {
            Ok(order) => Ok(Some(order)),
            Err(e) if e.rejected_status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
