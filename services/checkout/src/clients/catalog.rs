use apiary_chassis::{DownstreamError, HttpClient, Idempotency};
use apiary_wire::ProductPage;

#[derive(Debug, Clone)]
pub struct CatalogClient(pub(super) HttpClient);

impl CatalogClient {
    /// The underlying client (readiness probes, breaker state).
    pub fn http(&self) -> &HttpClient {
        &self.0
    }

    /// The current products (and prices) for these ids; unknown ids are left out.
    pub async fn products(&self, ids: &[&str]) -> Result<ProductPage, DownstreamError> {
        let ids = ids.join(",");
        let request = self.0.get("/products").query(&[("ids", ids.as_str())]);
        self.0
            .call_json("/products", request, Idempotency::Idempotent)
            .await
    }
}
