//! The cart: create one, add to it, look at it, change a line's quantity, remove a line.

use std::time::{Duration, Instant};

use http::Method;
use tracing::Span;

use super::call::Call;
use super::replies::NewCart;
use super::{Session, Shop, StepEnd, pick};
use crate::profile::{Action, Step};

impl Shop {
    /// `POST /api/carts`; the session's cart is the new, empty one.
    pub(super) async fn create_cart(&self, s: &mut Session, at: Instant, span: &Span) -> StepEnd {
        let call = Call {
            action: Action::CreateCart,
            method: Method::POST,
            path: "/api/carts".into(),
            body: Some(serde_json::json!({})),
            idempotency_key: None,
            expected: &[],
        };
        let mut cart = None;
        let end = self
            .call(s, at, span, call, |b| {
                serde_json::from_slice::<NewCart>(b)
                    .map(|c| cart = Some(c.cart_id))
                    .is_ok()
            })
            .await;
        if let Some(c) = cart {
            s.cart = Some(c);
            s.items.clear();
        }
        end
    }

    /// Adds a product (the one viewed last, else one from the last listing, else any) to the
    /// cart, creating the cart first when the session has none.
    pub(super) async fn add_to_cart(
        &self,
        s: &mut Session,
        step: &Step,
        at: Instant,
        span: &Span,
    ) -> StepEnd {
        let mut total = Duration::ZERO;
        let mut at = at;
        if s.cart.is_none() {
            match self.create_cart(s, at, span).await {
                StepEnd::Continue(d) => {
                    total += d;
                    // The add goes out as soon as the cart exists: no think between.
                    at = Instant::now();
                }
                other => return other,
            }
        }
        let (Some(cart), Some(product)) = (
            s.cart.clone(),
            s.product.clone().or_else(|| self.product_for(s)),
        ) else {
            return StepEnd::Skipped;
        };
        let quantity = step.quantity.sample(&mut s.rng);
        let call = Call {
            action: Action::AddToCart,
            method: Method::POST,
            path: format!("/api/carts/{}/items", apiary_chassis::encode_segment(&cart)),
            body: Some(serde_json::json!({"product_id": product, "quantity": quantity})),
            idempotency_key: None,
            // 409 out_of_stock: the shop ran out, a real outcome under load.
            expected: &[409],
        };
        let mut added = false;
        let end = self
            .call(s, at, span, call, |_| {
                added = true;
                true
            })
            .await;
        if added && !s.items.contains(&product) {
            s.items.push(product);
        }
        match end {
            StepEnd::Continue(d) => StepEnd::Continue(total + d),
            StepEnd::Fail(d) => StepEnd::Fail(total + d),
            StepEnd::Skipped => StepEnd::Skipped,
        }
    }

    /// `GET /api/carts/{cart_id}`.
    pub(super) async fn view_cart(&self, s: &mut Session, at: Instant, span: &Span) -> StepEnd {
        let Some(cart) = s.cart.clone() else {
            return StepEnd::Skipped;
        };
        let path = format!("/api/carts/{}", apiary_chassis::encode_segment(&cart));
        self.call(s, at, span, Call::get(Action::ViewCart, path), |_| true)
            .await
    }

    /// Sets the quantity of a product in the cart.
    pub(super) async fn update_cart(
        &self,
        s: &mut Session,
        step: &Step,
        at: Instant,
        span: &Span,
    ) -> StepEnd {
        let (Some(cart), Some(product)) = (s.cart.clone(), pick(&mut s.rng, &s.items).cloned())
        else {
            return StepEnd::Skipped;
        };
        let quantity = step.quantity.sample(&mut s.rng);
        let call = Call {
            action: Action::UpdateCart,
            method: Method::PUT,
            path: format!(
                "/api/carts/{}/items/{}",
                apiary_chassis::encode_segment(&cart),
                apiary_chassis::encode_segment(&product)
            ),
            body: Some(serde_json::json!({"quantity": quantity})),
            idempotency_key: None,
            expected: &[409],
        };
        self.call(s, at, span, call, |_| true).await
    }

    /// Removes a product from the cart.
    pub(super) async fn remove_from_cart(
        &self,
        s: &mut Session,
        at: Instant,
        span: &Span,
    ) -> StepEnd {
        let (Some(cart), Some(product)) = (s.cart.clone(), pick(&mut s.rng, &s.items).cloned())
        else {
            return StepEnd::Skipped;
        };
        let call = Call {
            action: Action::RemoveFromCart,
            method: Method::DELETE,
            path: format!(
                "/api/carts/{}/items/{}",
                apiary_chassis::encode_segment(&cart),
                apiary_chassis::encode_segment(&product)
            ),
            body: None,
            idempotency_key: None,
            expected: &[],
        };
        let end = self.call(s, at, span, call, |_| true).await;
        if matches!(end, StepEnd::Continue(_)) {
            s.items.retain(|p| p != &product);
        }
        end
    }
}
