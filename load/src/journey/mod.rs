//! One shopper session: a journey's steps against the gateway's JSON API, with think times,
//! the session's own state (categories seen, current listing and product, cart, order), its
//! root span and its `baggage`.
//!
//! A journey's choices (which journey, which product, how many, how long to think) come from
//! its own RNG seeded from the run seed and the journey's arrival number, so a run with the same
//! `--seed` makes the same choices however the responses are timed. What the shop answers (a
//! listing, an out-of-stock) can still steer a session.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Method, header};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use tokio::sync::watch;
use tracing::Span;
use tracing::field::Empty;

use crate::client::{Body, Client};
use crate::engine::TIMER_SLACK;
use crate::profile::{Action, CardKind, Journey, Profile, ShopData, Step};
use crate::stats::{ErrorClass, JourneyEnd, Outcome, Recorder};

/// What the run knows about the shop before any journey: categories (with their sizes) and
/// product ids, fetched from the gateway at start (see [`Catalog::fetch`]).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub categories: Vec<(String, usize)>,
    pub products: Vec<String>,
}

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
    let id = format!("{:016x}", rng.random::<u64>());
    let baggage = HeaderValue::from_str(&format!("synthetic_request=true,session.id={id}"))
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
                        () = crate::engine::stopped(&mut stop) => {}
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

#[derive(Deserialize)]
struct CategoryList {
    items: Vec<CategoryCount>,
}

#[derive(Deserialize)]
struct CategoryCount {
    name: String,
    count: usize,
}

#[derive(Deserialize)]
struct ProductPage {
    items: Vec<ProductRef>,
    #[serde(default)]
    total: usize,
}

#[derive(Deserialize)]
struct ProductRef {
    id: String,
}

#[derive(Deserialize)]
struct NewCart {
    cart_id: String,
}

#[derive(Deserialize)]
struct NewOrder {
    order_id: String,
}

impl Catalog {
    /// Reads categories and every product id through the gateway (`/api/categories`, then
    /// `/api/products?category=` page by page). Fails on the first unusable answer.
    pub async fn fetch(client: &Client) -> Result<Catalog, String> {
        let reply = get_json(client, "/api/categories").await?;
        let list: CategoryList = serde_json::from_slice(&reply)
            .map_err(|e| format!("/api/categories answered something else: {e}"))?;
        let mut catalog = Catalog::default();
        for c in list.items {
            let mut offset = 0;
            // Bounded: at most 100 pages of 100 per category.
            for _ in 0..100 {
                let path = format!(
                    "/api/products?category={}&limit=100&offset={offset}",
                    encode_query(&c.name)
                );
                let page: ProductPage = serde_json::from_slice(&get_json(client, &path).await?)
                    .map_err(|e| format!("{path} answered something else: {e}"))?;
                let n = page.items.len();
                catalog
                    .products
                    .extend(page.items.into_iter().map(|p| p.id));
                offset += n;
                if n == 0 || offset >= page.total {
                    break;
                }
            }
            catalog.categories.push((c.name, c.count));
        }
        // Sorted so journeys pick the same ids for the same seed whatever the answer order.
        catalog.products.sort();
        catalog.products.dedup();
        if catalog.products.is_empty() {
            return Err("the gateway lists no products".into());
        }
        Ok(catalog)
    }
}

async fn get_json(client: &Client, path: &str) -> Result<Bytes, String> {
    let mut req = client.request(Method::GET, path, Body::default());
    req.headers_mut()
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    req.headers_mut().insert(
        "baggage",
        HeaderValue::from_static("synthetic_request=true"),
    );
    match client.send(req).await {
        Ok(r) if r.status == 200 => Ok(r.body),
        Ok(r) => Err(format!("GET {path} answered {}", r.status)),
        Err(f) => Err(format!(
            "GET {path} failed: {}",
            ErrorClass::from(f).label()
        )),
    }
}

/// Everything but RFC 3986's unreserved characters is percent-encoded in a query value.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
pub fn encode_query(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, QUERY_VALUE).to_string()
}

fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        items.get(rng.random_range(0..items.len()))
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

struct Call<'a> {
    action: Action,
    method: Method,
    path: String,
    body: Option<serde_json::Value>,
    idempotency_key: Option<String>,
    /// Non-2xx statuses that are business outcomes for this call, not errors.
    expected: &'a [u16],
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

    async fn step(
        &self,
        s: &mut Session,
        data: &ShopData,
        step: &Step,
        at: Instant,
        span: &Span,
    ) -> StepEnd {
        match step.action {
            Action::Landing => {
                let mut categories = None;
                let end = self
                    .call(
                        s,
                        at,
                        span,
                        Call::get(Action::Landing, "/api/categories".into()),
                        |b| {
                            serde_json::from_slice::<CategoryList>(b)
                                .map(|l| {
                                    categories = Some(
                                        l.items.into_iter().map(|c| (c.name, c.count)).collect(),
                                    )
                                })
                                .is_ok()
                        },
                    )
                    .await;
                if let Some(c) = categories {
                    s.categories = c;
                }
                end
            }
            Action::Browse => {
                let catalog = self.catalog();
                let known = if s.categories.is_empty() {
                    &catalog.categories
                } else {
                    &s.categories
                };
                let (category, count) = match &step.category {
                    Some(c) => (c.clone(), 0),
                    None => match pick(&mut s.rng, known) {
                        Some((c, n)) => (c.clone(), *n),
                        None => return StepEnd::Skipped,
                    },
                };
                let page_size = data.page_size as usize;
                let pages = count.div_ceil(page_size.max(1)).max(1);
                let offset = s.rng.random_range(0..pages) * page_size;
                let path = format!(
                    "/api/products?category={}&limit={page_size}&offset={offset}",
                    encode_query(&category)
                );
                self.listing_call(s, at, span, Call::get(Action::Browse, path))
                    .await
            }
            Action::Search => {
                let term = match &step.query {
                    Some(q) => q.clone(),
                    None => match pick(&mut s.rng, &data.search_terms) {
                        Some(t) => t.clone(),
                        None => return StepEnd::Skipped,
                    },
                };
                let path = format!(
                    "/api/products?q={}&limit={}",
                    encode_query(&term),
                    data.page_size
                );
                self.listing_call(s, at, span, Call::get(Action::Search, path))
                    .await
            }
            Action::Product => {
                let Some(id) = self.product_for(s) else {
                    return StepEnd::Skipped;
                };
                let path = format!("/api/products/{}", apiary_chassis::encode_segment(&id));
                let end = self
                    .call(s, at, span, Call::get(Action::Product, path), |_| true)
                    .await;
                if matches!(end, StepEnd::Continue(_)) {
                    s.product = Some(id);
                }
                end
            }
            Action::CreateCart => self.create_cart(s, at, span).await,
            Action::AddToCart => {
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
            Action::ViewCart => {
                let Some(cart) = s.cart.clone() else {
                    return StepEnd::Skipped;
                };
                let path = format!("/api/carts/{}", apiary_chassis::encode_segment(&cart));
                self.call(s, at, span, Call::get(Action::ViewCart, path), |_| true)
                    .await
            }
            Action::UpdateCart => {
                let (Some(cart), Some(product)) =
                    (s.cart.clone(), pick(&mut s.rng, &s.items).cloned())
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
            Action::RemoveFromCart => {
                let (Some(cart), Some(product)) =
                    (s.cart.clone(), pick(&mut s.rng, &s.items).cloned())
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
            Action::Checkout => {
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
            Action::OrderStatus => {
                let Some(order) = s.order.clone() else {
                    return StepEnd::Skipped;
                };
                let path = format!("/api/orders/{}", apiary_chassis::encode_segment(&order));
                self.call(s, at, span, Call::get(Action::OrderStatus, path), |_| true)
                    .await
            }
            Action::Get => {
                let path = step.path.clone().unwrap_or_else(|| "/".to_owned());
                self.call(s, at, span, Call::get(Action::Get, path), |_| true)
                    .await
            }
        }
    }

    async fn create_cart(&self, s: &mut Session, at: Instant, span: &Span) -> StepEnd {
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

    async fn listing_call(
        &self,
        s: &mut Session,
        at: Instant,
        span: &Span,
        call: Call<'_>,
    ) -> StepEnd {
        let mut listing = None;
        let end = self
            .call(s, at, span, call, |b| {
                serde_json::from_slice::<ProductPage>(b)
                    .map(|p| listing = Some(p.items.into_iter().map(|p| p.id).collect()))
                    .is_ok()
            })
            .await;
        if let Some(l) = listing {
            s.listing = l;
        }
        end
    }

    /// Sends one call, records it (latency from `intended`), and hands a 2xx body to `accept`;
    /// a body `accept` cannot use is a `malformed_response` error.
    async fn call(
        &self,
        s: &Session,
        intended: Instant,
        journey_span: &Span,
        call: Call<'_>,
        accept: impl FnOnce(&[u8]) -> bool,
    ) -> StepEnd {
        let body = match &call.body {
            Some(v) => Body::new(Bytes::from(serde_json::to_vec(v).unwrap_or_default())),
            None => Body::default(),
        };
        let mut req = self.client.request(call.method.clone(), &call.path, body);
        let headers = req.headers_mut();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        if call.body.is_some() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        if let Some(key) = call
            .idempotency_key
            .as_deref()
            .and_then(|k| HeaderValue::from_str(k).ok())
        {
            headers.insert("idempotency-key", key);
        }
        headers.insert("baggage", s.baggage.clone());
        let span = if self.tracing {
            let (method, route) = call.action.route();
            let span = tracing::info_span!(
                parent: journey_span,
                "http.client",
                otel.name = %format_args!("{method} {route}"),
                otel.kind = "client",
                otel.status_code = Empty,
                http.request.method = method,
                url.template = route,
                server.address = %self.client.target().authority,
                load.step = call.action.name(),
                session.id = %s.id,
                http.response.status_code = Empty,
                error.type = Empty,
            );
            // The span's own context: `traceparent` names this request span as the parent of
            // the gateway's server span. Baggage is the session's, set above.
            apiary_telemetry::propagation::inject_span(&span, req.headers_mut());
            span
        } else {
            Span::none()
        };

        let result = self.client.send(req).await;
        let done = Instant::now();
        let mut latency = done.saturating_duration_since(intended);
        let (outcome, status, service, trace) = match result {
            Ok(reply) => {
                // Sent before its intended time (within TIMER_SLACK): measure from the send.
                if reply.sent < intended {
                    latency = done.saturating_duration_since(reply.sent);
                }
                let status = reply.status;
                let outcome = if (200..300).contains(&status) {
                    if accept(&reply.body) {
                        Outcome::Ok
                    } else {
                        Outcome::Error(ErrorClass::MalformedResponse)
                    }
                } else if call.expected.contains(&status) {
                    Outcome::Rejected(status)
                } else {
                    Outcome::Error(ErrorClass::Status(status))
                };
                span.record("http.response.status_code", i64::from(status));
                (
                    outcome,
                    Some(status),
                    done.saturating_duration_since(reply.sent),
                    reply.traceresponse,
                )
            }
            Err(failure) => (Outcome::Error(failure.into()), None, latency, None),
        };
        if let Outcome::Error(class) = outcome {
            span.record("error.type", class.label());
            span.record("otel.status_code", "ERROR");
        }
        drop(span);
        self.recorder.request(
            call.action,
            latency,
            service,
            outcome,
            status,
            trace.as_ref(),
        );
        match outcome {
            Outcome::Error(_) => StepEnd::Fail(latency),
            _ => StepEnd::Continue(latency),
        }
    }
}

impl Call<'static> {
    fn get(action: Action, path: String) -> Self {
        Call {
            action,
            method: Method::GET,
            path,
            body: None,
            idempotency_key: None,
            expected: &[],
        }
    }
}

const USER_AGENT: &str = concat!("apiary-load/", env!("CARGO_PKG_VERSION"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query("blue night"), "blue%20night");
        assert_eq!(encode_query("a&b=c"), "a%26b%3Dc");
        assert_eq!(encode_query("BK-0001"), "BK-0001");
    }
}
