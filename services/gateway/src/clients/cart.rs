//! The cart client.

use apiary_chassis::{DownstreamError, HttpClient, Idempotency, encode_segment};
use apiary_wire::shop::{Cart, LineItem, SetQuantity};

#[derive(Debug, Clone)]
pub struct CartClient {
    http: HttpClient,
}

impl CartClient {
    pub fn new(http: HttpClient) -> Self {
        Self { http }
    }

    /// `GET /carts/{id}` (an unknown or expired cart is an empty one).
    pub async fn get(&self, cart_id: &str) -> Result<Cart, DownstreamError> {
        let request = self
            .http
            .get(&format!("/carts/{}", encode_segment(cart_id)));
        self.http
            .call_json("/carts/{cart_id}", request, Idempotency::Idempotent)
            .await
    }

    /// `POST /carts/{id}/items`: adds to the line. Sent once: it is not idempotent (a repeat
    /// would add the quantity twice).
    pub async fn add(&self, cart_id: &str, item: &LineItem) -> Result<Cart, DownstreamError> {
        let request = self
            .http
            .post(&format!("/carts/{}/items", encode_segment(cart_id)))
            .json(item);
        self.http
            .call_json("/carts/{cart_id}/items", request, Idempotency::Once)
            .await
    }

    /// `PUT /carts/{id}/items/{product_id}`: sets the quantity (0 removes); repeatable.
    pub async fn set_quantity(
        &self,
        cart_id: &str,
        product_id: &str,
        quantity: u32,
    ) -> Result<Cart, DownstreamError> {
        let request = self
            .http
            .put(&Self::item_path(cart_id, product_id))
            .json(&SetQuantity { quantity });
        self.http
            .call_json(
                "/carts/{cart_id}/items/{product_id}",
                request,
                Idempotency::Idempotent,
            )
            .await
    }

    /// `DELETE /carts/{id}/items/{product_id}`; repeatable.
    pub async fn remove(&self, cart_id: &str, product_id: &str) -> Result<Cart, DownstreamError> {
        let request = self.http.delete(&Self::item_path(cart_id, product_id));
        self.http
            .call_json(
                "/carts/{cart_id}/items/{product_id}",
                request,
                Idempotency::Idempotent,
            )
            .await
    }

    /// The underlying client (readiness asks the peer's liveness through it).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    fn item_path(cart_id: &str, product_id: &str) -> String {
        format!(
            "/carts/{}/items/{}",
            encode_segment(cart_id),
            encode_segment(product_id)
        )
    }
}
