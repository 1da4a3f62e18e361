//! The checkout client.

use apiary_telemetry::{DownstreamError, HttpClient, Idempotency};
use apiary_wire::shop::{CheckoutRequest, CheckoutResult};

#[derive(Debug, Clone)]
pub struct CheckoutClient {
    http: HttpClient,
}

impl CheckoutClient {
    pub fn new(http: HttpClient) -> Self {
        Self { http }
    }

    /// `POST /checkouts` -> 201 [`CheckoutResult`], or the saga's verdict (402 decline, 409,
    /// 422) as [`DownstreamError::Rejected`]. Sent exactly once: it charges money, and a
    /// shopper who retries does so with the same checkout id, which the saga deduplicates.
    pub async fn checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutResult, DownstreamError> {
        let call = self.http.post("/checkouts").json(request);
        self.http
            .call_json("/checkouts", call, Idempotency::Once)
            .await
    }

    pub async fn live(&self) -> Result<(), String> {
        self.http.live().await
    }
}
