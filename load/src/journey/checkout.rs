//! Buying: the checkout with a test card, and looking at the order it placed.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http::Method;
use rand::Rng;
use tracing::Span;

use super::call::Call;
use super::replies::NewOrder;
use super::{Session, Shop, StepEnd, pick};
use crate::profile::{Action, CardKind, ShopData, Step};

impl Shop {
    /// `POST /api/checkout` of the session's cart with the step's card (idempotent by its key);
    /// the session keeps the order, and needs a new cart.
    pub(super) async fn checkout(
        &self,
        s: &mut Session,
        data: &ShopData,
        step: &Step,
        at: Instant,
        span: &Span,
    ) -> StepEnd {
        let Some(cart) = s.cart.clone().filter(|_| !s.items.is_empty()) else {
            return StepEnd::Skipped;
        };
        let country = pick(&mut s.rng, &data.countries)
            .cloned()
            .unwrap_or_else(|| "DE".to_owned());
        let key = format!("load-{}-{:016x}", self.run_id, s.rng.random::<u64>());
        let call = Call {
            action: Action::Checkout,
            method: Method::POST,
            path: "/api/checkout".into(),
            body: Some(serde_json::json!({
                "cart_id": cart,
                "card": {
                    "number": step.card.number(),
                    "expiry_month": 12,
                    "expiry_year": expiry_year(),
                    "cvc": "123",
                },
                "shipping": {"country": country},
            })),
            idempotency_key: Some(key),
            // 402: a declined card (expected for the declining test cards); 409: out
            // of stock or a cart emptied meanwhile — both outcomes of a real shop.
            expected: if step.card == CardKind::Valid {
                &[409]
            } else {
                &[402, 409]
            },
        };
        let mut order = None;
        let end = self
            .call(s, at, span, call, |b| {
                serde_json::from_slice::<NewOrder>(b)
                    .map(|o| order = Some(o.order_id))
                    .is_ok()
            })
            .await;
        if let Some(o) = order {
            s.order = Some(o);
            // The gateway's checkout consumes the cart: a new purchase needs a new one.
            s.cart = None;
            s.items.clear();
        }
        end
    }

    /// `GET /api/orders/{order_id}` of the session's last order.
    pub(super) async fn order_status(&self, s: &mut Session, at: Instant, span: &Span) -> StepEnd {
        let Some(order) = s.order.clone() else {
            return StepEnd::Skipped;
        };
        let path = format!("/api/orders/{}", apiary_chassis::encode_segment(&order));
        self.call(s, at, span, Call::get(Action::OrderStatus, path), |_| true)
            .await
    }
}

/// A card expiry a few years ahead, so test cards never expire.
fn expiry_year() -> u16 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    (1970 + secs / 31_556_952 + 3) as u16
}
