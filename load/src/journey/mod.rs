//! One shopper session: a journey's steps against the gateway's JSON API, with think times,
//! the session's own state (categories seen, current listing and product, cart, order), its
//! root span and its `baggage`.
//!
//! A journey's choices (which journey, which product, how many, how long to think) come from
//! its own RNG seeded from the run seed and the journey's arrival number, so a run with the same
//! `--seed` makes the same choices however the responses are timed. What the shop answers (a
//! listing, an out-of-stock) can still steer a session.
//!
//! # Layout
//! - `catalog` — [`Catalog`]: the shop's categories and product ids, read once at start;
//!   [`encode_query`].
//! - `call` — one request: headers, its client span, timing from the intended start, the
//!   outcome recorded.
//! - `browse`, `cart`, `checkout` — one function per shopper action: landing, browse, search,
//!   product page, a plain GET; create cart, add to, view, update and remove from it; check out
//!   and look at the order.
//! - `replies` — the few fields of the gateway's answers a session reads.

mod browse;
mod call;
mod cart;
mod catalog;
mod checkout;
mod replies;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use http::HeaderValue;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::watch;
use tracing::Span;
use tracing::field::Empty;

pub use catalog::{Catalog, CatalogError, encode_query};

use crate::client::Client;
use crate::profile::{Action, Journey, Profile, ShopData, Step};
use crate::stats::{JourneyEnd, Recorder};
use crate::timing::{TIMER_SLACK, stopped};

/// Everything journeys share.
pub struct Shop {
    pub client: Client,
    pub recorder: Arc<Recorder>,
    pub catalog: RwLock<Arc<Catalog>>,
    /// Open a root span per journey and a client span per request, and send `traceparent`.
    pub tracing: bool,
    /// Distinguishes this process's idempotency keys from an earlier run with the same seed
    /// (which would otherwise be answered with that run's orders instead of placing new ones).
    pub run_id: String,
    /// Becomes true when the run stops: journeys end at their next think time.
    pub stop: watch::Receiver<bool>,
}

impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shop")
            .field("run_id", &self.run_id)
            .finish()
    }
}

struct Session {
    id: String,
    baggage: HeaderValue,
    rng: ChaCha8Rng,
    categories: Vec<(String, usize)>,
    listing: Vec<String>,
    product: Option<String>,
    cart: Option<String>,
    items: Vec<String>,
    order: Option<String>,
}

/// How one step went, for the journey.
enum StepEnd {
    /// Answered (2xx or an expected refusal) after this long, counted from its intended start.
    Continue(Duration),
    /// An error: the journey stops here.
    Fail(Duration),
    /// The session could not do it (no cart, empty cart, no order yet).
    Skipped,
}

/// Runs one journey that was due at `intended`. `arrival` numbers it within the run.
pub async fn run(shop: Arc<Shop>, profile: Arc<Profile>, intended: Instant, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let journey: &Journey = profile.choose(&mut rng);
    let id = session_id(rng.random::<u64>());
    let mut baggage = String::with_capacity(BAGGAGE_PREFIX.len() + id.len());
    baggage.push_str(BAGGAGE_PREFIX);
    baggage.push_str(&id);
    let baggage = HeaderValue::try_from(baggage)
        .unwrap_or_else(|_| HeaderValue::from_static("synthetic_request=true"));
    let span = if shop.tracing {
        // A root span: the trace starts at the shopper, not at the gateway.
        tracing::info_span!(
            parent: None,
            "journey",
            otel.name = %format_args!("journey {}", journey.name),
            otel.kind = "internal",
            otel.status_code = Empty,
            journey.name = %journey.name,
            session.id = %id,
            synthetic_request = true,
            journey.outcome = Empty,
        )
    } else {
        Span::none()
    };
    let mut session = Session {
        id,
        baggage,
        rng,
        categories: Vec::new(),
        listing: Vec::new(),
        product: None,
        cart: None,
        items: Vec::new(),
        order: None,
    };
    shop.recorder.journey_started(&journey.name);
    let mut stop = shop.stop.clone();
    let mut at = intended;
    let mut first = true;
    let mut active = Duration::ZERO;
    let mut end = JourneyEnd::Completed;
    'steps: for step in &journey.steps {
        let times = step.repeat.sample(&mut session.rng);
        for _ in 0..times {
            if !first {
                let think = step.think.sample(&mut session.rng);
                at = Instant::now() + think;
                if !think.is_zero() {
                    tokio::select! {
                        () = tokio::time::sleep_until(at.checked_sub(TIMER_SLACK).unwrap_or(at).into()) => {}
                        () = stopped(&mut stop) => {}
                    }
                }
            }
            if *stop.borrow() {
                end = JourneyEnd::CutShort;
                break 'steps;
            }
            first = false;
            match shop
                .step(&mut session, &profile.shop, step, at, &span)
                .await
            {
                StepEnd::Continue(latency) => active += latency,
                StepEnd::Skipped => shop.recorder.step_skipped(step.action),
                StepEnd::Fail(latency) => {
                    active += latency;
                    end = JourneyEnd::Failed;
                    break 'steps;
                }
            }
        }
    }
    span.record("journey.outcome", end.label());
    if end == JourneyEnd::Failed {
        span.record("otel.status_code", "ERROR");
    }
    shop.recorder.journey_finished(&journey.name, end, active);
}

/// The session's `baggage`, followed by its id.
const BAGGAGE_PREFIX: &str = "synthetic_request=true,session.id=";

/// A session id: 16 lowercase hex digits (what `format!("{:016x}")` gives, without the
/// formatting machinery, which was a twentieth of the generator's work per one-request journey).
fn session_id(n: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    for (i, d) in digits.iter_mut().enumerate() {
        *d = HEX[((n >> ((15 - i) * 4)) & 0xf) as usize];
    }
    String::from_utf8_lossy(&digits).into_owned()
}

fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        items.get(rng.random_range(0..items.len()))
    }
}

impl Shop {
    fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    fn product_for(&self, s: &mut Session) -> Option<String> {
        if let Some(p) = pick(&mut s.rng, &s.listing) {
            return Some(p.clone());
        }
        pick(&mut s.rng, &self.catalog().products).cloned()
    }

    /// Runs one step: the action's own function (see `browse`, `cart`, `checkout`).
    async fn step(
        &self,
        s: &mut Session,
        data: &ShopData,
        step: &Step,
        at: Instant,
        span: &Span,
    ) -> StepEnd {
        match step.action {
            Action::Landing => self.landing(s, at, span).await,
            Action::Browse => self.browse(s, data, step, at, span).await,
            Action::Search => self.search(s, data, step, at, span).await,
            Action::Product => self.product(s, at, span).await,
            Action::CreateCart => self.create_cart(s, at, span).await,
            Action::AddToCart => self.add_to_cart(s, step, at, span).await,
            Action::ViewCart => self.view_cart(s, at, span).await,
            Action::UpdateCart => self.update_cart(s, step, at, span).await,
            Action::RemoveFromCart => self.remove_from_cart(s, at, span).await,
            Action::Checkout => self.checkout(s, data, step, at, span).await,
            Action::OrderStatus => self.order_status(s, at, span).await,
            Action::Get => self.get_path(s, step, at, span).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_sixteen_hex_digits() {
        for n in [0u64, 1, 0xdead_beef, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(session_id(n), format!("{n:016x}"));
        }
    }
}
