//! The clients of the product page's optional parts: reviews and recommendations.
//!
//! Both are one `GET` of a product's part with a `limit`, read as a contract type, and sent
//! once (no retries): every caller treats this data as optional and degrades without it, so a
//! retry after a timeout would only make the shopper's page slower.

use std::marker::PhantomData;

use apiary_chassis::{DownstreamError, HttpClient, Idempotency, encode_segment};
use apiary_wire::shop::{ProductReviews, Recommendations};
use serde::de::DeserializeOwned;

/// `GET /products/{product_id}/reviews?limit=`: the newest reviews and the rating summary.
pub type ReviewsClient = ProductPartClient<ProductReviews>;
/// `GET /recommendations/{product_id}?limit=`: product ids only; the caller fetches details.
pub type RecommendationsClient = ProductPartClient<Recommendations>;

/// One optional part of a product, at `route` (a template with `{product_id}`, which is also
/// the client span's route).
#[derive(Debug)]
pub struct ProductPartClient<T> {
    http: HttpClient,
    route: &'static str,
    part: PhantomData<fn() -> T>,
}

impl<T> Clone for ProductPartClient<T> {
    fn clone(&self) -> Self {
        Self {
            http: self.http.clone(),
            route: self.route,
            part: PhantomData,
        }
    }
}

impl ReviewsClient {
    pub fn new(http: HttpClient) -> Self {
        Self::at(http, "/products/{product_id}/reviews")
    }
}

impl RecommendationsClient {
    pub fn new(http: HttpClient) -> Self {
        Self::at(http, "/recommendations/{product_id}")
    }
}

impl<T: DeserializeOwned> ProductPartClient<T> {
    fn at(http: HttpClient, route: &'static str) -> Self {
        Self {
            http,
            route,
            part: PhantomData,
        }
    }

    /// The part of `product_id`, at most `limit` entries of it.
    pub async fn for_product(&self, product_id: &str, limit: u32) -> Result<T, DownstreamError> {
        let path = self
            .route
            .replace("{product_id}", &encode_segment(product_id));
        let request = self.http.get(&path).query(&[("limit", limit)]);
        self.http
            .call_json(self.route, request, Idempotency::Once)
            .await
    }
}
