use apiary_chassis::{DownstreamError, HttpClient, Idempotency};
use apiary_wire::shop::{LineItem, Quote, QuoteRequest};

#[derive(Debug, Clone)]
pub struct ShippingClient(pub(super) HttpClient);

impl ShippingClient {
    /// The underlying client (readiness probes, breaker state).
    pub fn http(&self) -> &HttpClient {
        &self.0
    }

    /// A quote is a pure function of its input, so asking twice is harmless.
    pub async fn quote(
        &self,
        country: &str,
        items: Vec<LineItem>,
    ) -> Result<Quote, DownstreamError> {
        let body = QuoteRequest {
            country: country.to_owned(),
            items,
        };
        let request = self.0.post("/quotes").json(&body);
        self.0
            .call_json("/quotes", request, Idempotency::Idempotent)
            .await
    }
}
