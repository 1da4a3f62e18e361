//! The checkout client.

use apiary_chassis::{DownstreamError, HttpClient, Idempotency, encode_segment};
use apiary_wire::shop::{CheckoutRequest, CheckoutResult, CheckoutStatus};
use serde::Deserialize;

/// What checkout answers when it placed no refusal: the order (201, or 200 for a replay), or a
/// checkout not finished within the deadline (202, told apart by its shape).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum CheckoutAnswer {
    Placed(CheckoutResult),
    Accepted(CheckoutStatus),
}

#[derive(Debug, Clone)]
pub struct CheckoutClient {
    http: HttpClient,
}

impl CheckoutClient {
    pub fn new(http: HttpClient) -> Self {
        Self { http }
    }

    /// `POST /checkouts` -> 201 [`CheckoutResult`], 202 [`CheckoutStatus`] (still running or
    /// pending), or the saga's verdict (402 decline, 409, 422) as
    /// [`DownstreamError::Rejected`]. Sent exactly once: it charges money, and a shopper who
    /// retries does so with the same checkout id, which the saga deduplicates.
    pub async fn checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutAnswer, DownstreamError> {
        let call = self.http.post("/checkouts").json(request);
        self.http
            .call_json("/checkouts", call, Idempotency::Once)
            .await
    }

    /// `GET /checkouts/{id}`: where a checkout stands (404 `checkout_not_found`).
    pub async fn status(&self, checkout_id: &str) -> Result<CheckoutStatus, DownstreamError> {
        let path = format!("/checkouts/{}", encode_segment(checkout_id));
        self.http
            .call_json(
                "/checkouts/{checkout_id}",
                self.http.get(&path),
                Idempotency::Idempotent,
            )
            .await
    }

    /// The underlying client (readiness asks the peer's liveness through it).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }
}
