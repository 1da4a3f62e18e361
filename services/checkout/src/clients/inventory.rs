use apiary_chassis::{DownstreamError, HttpClient, Idempotency, encode_segment};
use apiary_wire::shop::{LineItem, Reservation, ReserveRequest};

use crate::domain::CheckoutId;

#[derive(Debug, Clone)]
pub struct InventoryClient(pub(super) HttpClient);

impl InventoryClient {
    /// The underlying client (readiness probes, breaker state).
    pub fn http(&self) -> &HttpClient {
        &self.0
    }

    /// Holds stock for every line, all or nothing (409 `out_of_stock` otherwise). Keyed by the
    /// checkout id, so a retry returns the same reservation.
    pub async fn reserve(
        &self,
        id: &CheckoutId,
        items: Vec<LineItem>,
    ) -> Result<Reservation, DownstreamError> {
        let body = ReserveRequest {
            reservation_id: id.as_str().to_owned(),
            items,
        };
        let request = self.0.post("/reservations").json(&body);
        self.0
            .call_json("/reservations", request, Idempotency::Idempotent)
            .await
    }

    pub async fn commit(&self, id: &CheckoutId) -> Result<Reservation, DownstreamError> {
        let path = format!("/reservations/{}/commit", encode_segment(id.as_str()));
        self.0
            .call_json(
                "/reservations/{id}/commit",
                self.0.post(&path),
                Idempotency::Idempotent,
            )
            .await
    }

    /// Releases the hold; for an id inventory never saw, it records that the id is released so
    /// a late reserve with it is refused.
    pub async fn release(&self, id: &CheckoutId) -> Result<Reservation, DownstreamError> {
        let path = format!("/reservations/{}/release", encode_segment(id.as_str()));
        self.0
            .call_json(
                "/reservations/{id}/release",
                self.0.post(&path),
                Idempotency::Idempotent,
            )
            .await
    }
}
