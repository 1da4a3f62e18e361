//! The catalog client: products, listings, categories.

use apiary_chassis::{DownstreamError, HttpClient, Idempotency, encode_segment};
use apiary_wire::{CategoryList, Product, ProductPage};

#[derive(Debug, Clone)]
pub struct CatalogClient {
    http: HttpClient,
}

/// Listing filters forwarded to the catalog as they came (the catalog validates them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    pub category: Option<String>,
    pub q: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
}

impl CatalogClient {
    pub fn new(http: HttpClient) -> Self {
        Self { http }
    }

    /// `GET /products?category=&q=&limit=&offset=`.
    pub async fn list(&self, params: &ListParams) -> Result<ProductPage, DownstreamError> {
        let query: Vec<(&str, &str)> = [
            ("category", &params.category),
            ("q", &params.q),
            ("limit", &params.limit),
            ("offset", &params.offset),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect();
        let request = self.http.get("/products").query(&query);
        self.http
            .call_json("/products", request, Idempotency::Idempotent)
            .await
    }

    /// `GET /products?ids=a,b`: exactly those products (ids the catalog does not know are left
    /// out), in one call instead of one per id. No ids, no call.
    pub async fn by_ids(&self, ids: &[&str]) -> Result<Vec<Product>, DownstreamError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let request = self.http.get("/products").query(&[("ids", ids.join(","))]);
        let page: ProductPage = self
            .http
            .call_json("/products", request, Idempotency::Idempotent)
            .await?;
        Ok(page.items)
    }

    /// `GET /products/{id}` (404 `unknown_product` for an id it does not know).
    pub async fn get(&self, id: &str) -> Result<Product, DownstreamError> {
        // Percent-encode whatever the shopper sent; the catalog decides if it is an id.
        let request = self.http.get(&format!("/products/{}", encode_segment(id)));
        self.http
            .call_json("/products/{id}", request, Idempotency::Idempotent)
            .await
    }

    /// `GET /categories`.
    pub async fn categories(&self) -> Result<CategoryList, DownstreamError> {
        let request = self.http.get("/categories");
        self.http
            .call_json("/categories", request, Idempotency::Idempotent)
            .await
    }

    /// The underlying client (readiness asks the peer's liveness through it).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }
}
