use apiary_chassis::{DownstreamError, HttpClient, Idempotency};
use apiary_wire::Money;
use apiary_wire::shop::{Card, Charge, ChargeRequest, VoidRequest, VoidResult};

use crate::domain::CheckoutId;

#[derive(Debug, Clone)]
pub struct PaymentClient(pub(super) HttpClient);

impl PaymentClient {
    /// The underlying client (readiness probes, breaker state).
    pub fn http(&self) -> &HttpClient {
        &self.0
    }

    /// Charges with the checkout id as idempotency key: payment replays the first answer to a
    /// retry, so retrying cannot charge twice.
    pub async fn charge(
        &self,
        id: &CheckoutId,
        amount: Money,
        card: Card,
    ) -> Result<Charge, DownstreamError> {
        let body = ChargeRequest {
            idempotency_key: id.as_str().to_owned(),
            amount,
            card,
        };
        let request = self.0.post("/charges").json(&body);
        self.0
            .call_json("/charges", request, Idempotency::Idempotent)
            .await
    }

    /// Voids whatever was charged with this key (or bars the key when nothing was).
    pub async fn void(&self, id: &CheckoutId) -> Result<VoidResult, DownstreamError> {
        let body = VoidRequest {
            idempotency_key: id.as_str().to_owned(),
        };
        let request = self.0.post("/voids").json(&body);
        self.0
            .call_json("/voids", request, Idempotency::Idempotent)
            .await
    }
}
