//! What every outbound call and every server shares to stay up when a neighbour is not:
//!
//! - **Deadlines**: a request's remaining budget travels in the `apiary-deadline-ms` header; the
//!   [`deadline`] middleware turns it into a task-local deadline ([`remaining`]), and the HTTP client caps
//!   each call's timeout by it and passes the rest on. A request without one gets the service's
//!   request timeout. A call whose budget is spent is not made.
//! - **Circuit breaker** per downstream ([`CircuitBreaker`]): after too many failures in a row of
//!   recent calls it opens and calls fail fast; after a cool-down one trial call decides.
//! - **Retry budget** (tower's `TpsBudget`): retries of idempotent calls are allowed only up to a
//!   share of recent traffic, so retries cannot amplify an outage.
//!
//! - **Load shedding** ([`Shedder`]): past `max_in_flight` concurrent requests a service
//!   answers 503 at once instead of queueing. (tower's `ConcurrencyLimit` would do the counting,
//!   but `Router::layer` builds one per route, so the limit would be per route; here one
//!   semaphore is shared by every route.)

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Remaining milliseconds of the caller's budget.
pub const DEADLINE_HEADER: &str = "apiary-deadline-ms";

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Time left before the current request's deadline; `None` outside a request.
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|d| d.saturating_duration_since(Instant::now()))
        .ok()
}

/// Runs `f` with `deadline` as the current request's deadline.
pub async fn with_deadline<F: Future>(deadline: Instant, f: F) -> F::Output {
    DEADLINE.scope(deadline, f).await
}

/// The deadline an inbound request carries, capped by `max` (a caller cannot grant itself more
/// than this service allows).
pub fn deadline_from(headers: &http::HeaderMap, max: Duration) -> Instant {
    let budget = headers
        .get(DEADLINE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
        .map_or(max, |d| d.min(max));
    Instant::now() + budget
}

/// Middleware: runs the request with its deadline (the caller's `apiary-deadline-ms`, capped
/// by `max`, the service's request timeout) as the task-local [`remaining`] budget.
pub async fn deadline(
    axum::extract::State(max): axum::extract::State<Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let deadline = deadline_from(req.headers(), max);
    with_deadline(deadline, next.run(req)).await
}

/// Load shedding: one semaphore shared by every route of a service.
#[derive(Debug, Clone)]
pub struct Shedder(std::sync::Arc<tokio::sync::Semaphore>);

impl Shedder {
    pub fn new(max_in_flight: usize) -> Self {
        Self(std::sync::Arc::new(tokio::sync::Semaphore::new(
            max_in_flight.max(1),
        )))
    }

    /// Middleware: past the limit, a fast 503 `overloaded` (counted in
    /// `http_server_shed_total`); probes and scrapes are never shed.
    pub async fn layer(
        axum::extract::State(shedder): axum::extract::State<Self>,
        req: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> axum::response::Response {
        if apiary_telemetry::semconv::is_operational_path(req.uri().path()) {
            return next.run(req).await;
        }
        let Ok(_permit) = shedder.0.try_acquire() else {
            metrics::counter!("http_server_shed_total").increment(1);
            return crate::server::json_error(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "too many requests in flight; retry shortly",
            );
        };
        next.run(req).await
    }
}

/// The part of a budget kept back for answering: a callee is given its caller's timeout less
/// this, so the callee's own deadline passes (and it answers, even if only "out of time")
/// before the caller gives up on it. A tenth of the budget, at least 10 ms and at most 250 ms,
/// never more than half.
pub fn answer_margin(budget: Duration) -> Duration {
    (budget / 10)
        .clamp(Duration::from_millis(10), Duration::from_millis(250))
        .min(budget / 2)
}

/// Circuit breaker settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Outcomes remembered.
    pub window: usize,
    /// Fewer calls than this in the window never open the circuit.
    pub min_calls: usize,
    /// Failure share of the window that opens it.
    pub failure_ratio: f64,
    /// How long it stays open before a trial call.
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            window: 20,
            min_calls: 10,
            failure_ratio: 0.5,
            cool_down: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    /// One trial call is in flight.
    HalfOpen,
}

impl BreakerState {
    pub fn as_gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        }
    }
}

#[derive(Debug)]
struct BreakerInner {
    state: BreakerState,
    outcomes: VecDeque<bool>,
    opened_at: Option<Instant>,
}

/// A count-based circuit breaker. Hand-written: the maintained tower stack has none, and the
/// crates that do pull in their own executors and clocks for what is thirty lines here.
#[derive(Debug)]
pub struct CircuitBreaker {
    peer: String,
    config: BreakerConfig,
    inner: Mutex<BreakerInner>,
}

impl CircuitBreaker {
    pub fn new(peer: impl Into<String>, config: BreakerConfig) -> Self {
        Self {
            peer: peer.into(),
            config,
            inner: Mutex::new(BreakerInner {
                state: BreakerState::Closed,
                outcomes: VecDeque::new(),
                opened_at: None,
            }),
        }
    }

    pub fn state(&self) -> BreakerState {
        self.inner
            .lock()
            .map(|i| i.state)
            .unwrap_or(BreakerState::Closed)
    }

    fn set(&self, inner: &mut BreakerInner, state: BreakerState) {
        if inner.state != state {
            tracing::warn!(peer = %self.peer, from = ?inner.state, to = ?state, "circuit breaker changed state");
            inner.state = state;
            metrics::gauge!("apiary_circuit_breaker_state", "peer" => self.peer.clone())
                .set(state.as_gauge());
        }
    }

    /// How long until a call may go out (`None`: now), without taking the trial call: what a
    /// balancer asks before choosing this instance.
    pub fn blocked_for(&self) -> Option<Duration> {
        let inner = self.inner.lock().ok()?;
        match inner.state {
            BreakerState::Closed => None,
            BreakerState::Open | BreakerState::HalfOpen => {
                let since = inner
                    .opened_at
                    .map_or(self.config.cool_down, |t| t.elapsed());
                let left = self.config.cool_down.saturating_sub(since);
                (!left.is_zero()).then_some(left)
            }
        }
    }

    /// Whether a call may go out now.
    pub fn allow(&self) -> bool {
        let Ok(mut inner) = self.inner.lock() else {
            return true;
        };
        match inner.state {
            BreakerState::Closed => true,
            // One trial at a time; but a trial whose outcome never came (its caller was
            // dropped mid-call, say a client hung up while the peer hung) must not hold the
            // breaker half-open forever: after a cool-down another trial goes out.
            BreakerState::HalfOpen => {
                let abandoned = inner
                    .opened_at
                    .is_some_and(|t| t.elapsed() >= self.config.cool_down);
                if abandoned {
                    inner.opened_at = Some(Instant::now());
                }
                abandoned
            }
            BreakerState::Open => {
                if inner
                    .opened_at
                    .is_some_and(|t| t.elapsed() >= self.config.cool_down)
                {
                    // From here `opened_at` is when the trial went out.
                    inner.opened_at = Some(Instant::now());
                    self.set(&mut inner, BreakerState::HalfOpen);
                    true
                } else {
                    metrics::counter!("apiary_circuit_breaker_rejections_total", "peer" => self.peer.clone()).increment(1);
                    false
                }
            }
        }
    }

    /// Records a call's outcome (`true` = success).
    pub fn record(&self, success: bool) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        match inner.state {
            BreakerState::HalfOpen => {
                if success {
                    inner.outcomes.clear();
                    inner.opened_at = None;
                    self.set(&mut inner, BreakerState::Closed);
                } else {
                    inner.opened_at = Some(Instant::now());
                    self.set(&mut inner, BreakerState::Open);
                }
            }
            BreakerState::Closed => {
                inner.outcomes.push_back(success);
                while inner.outcomes.len() > self.config.window {
                    inner.outcomes.pop_front();
                }
                let calls = inner.outcomes.len();
                let failures = inner.outcomes.iter().filter(|ok| !**ok).count();
                if calls >= self.config.min_calls
                    && failures as f64 >= self.config.failure_ratio * calls as f64
                {
                    inner.opened_at = Some(Instant::now());
                    self.set(&mut inner, BreakerState::Open);
                }
            }
            // A call let through before it opened: its outcome changes nothing.
            BreakerState::Open => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(cool_down_ms: u64) -> CircuitBreaker {
        CircuitBreaker::new(
            "test",
            BreakerConfig {
                window: 10,
                min_calls: 4,
                failure_ratio: 0.5,
                cool_down: Duration::from_millis(cool_down_ms),
            },
        )
    }

    #[test]
    fn it_opens_on_failures_and_fails_fast() {
        let b = breaker(60_000);
        for ok in [true, false, false, true] {
            assert!(b.allow());
            b.record(ok);
        }
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allow());
    }

    #[test]
    fn blocked_for_says_how_long_without_taking_the_trial() {
        let b = breaker(30);
        assert_eq!(b.blocked_for(), None);
        for _ in 0..4 {
            b.record(false);
        }
        let left = b.blocked_for().expect("open");
        assert!(left <= Duration::from_millis(30), "{left:?}");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.blocked_for(), None, "the cool-down passed");
        assert_eq!(b.state(), BreakerState::Open, "asking took no trial");
        assert!(b.allow(), "the trial is still there to take");
    }

    #[test]
    fn too_few_calls_never_open_it() {
        let b = breaker(60_000);
        for _ in 0..3 {
            b.record(false);
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn an_abandoned_trial_does_not_hold_it_half_open_forever() {
        let b = breaker(10);
        for _ in 0..4 {
            b.record(false);
        }
        std::thread::sleep(Duration::from_millis(20));
        assert!(b.allow(), "trial call, whose outcome never comes");
        assert!(!b.allow(), "only one trial at a time");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        std::thread::sleep(Duration::from_millis(20));
        assert!(b.allow(), "another trial after the cool-down");
        b.record(true);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_trial_after_the_cool_down_closes_or_reopens_it() {
        let b = breaker(10);
        for _ in 0..4 {
            b.record(false);
        }
        assert!(!b.allow());
        std::thread::sleep(Duration::from_millis(20));
        assert!(b.allow(), "trial call");
        assert!(!b.allow(), "only one trial at a time");
        b.record(false);
        assert_eq!(b.state(), BreakerState::Open);
        std::thread::sleep(Duration::from_millis(20));
        assert!(b.allow());
        b.record(true);
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allow());
    }

    #[test]
    fn a_callee_is_left_a_margin_under_the_callers_timeout() {
        let ms = Duration::from_millis;
        assert_eq!(answer_margin(ms(1000)), ms(100));
        assert_eq!(answer_margin(ms(10_000)), ms(250));
        assert_eq!(answer_margin(ms(50)), ms(10));
        assert_eq!(answer_margin(ms(8)), ms(4));
        assert_eq!(answer_margin(Duration::ZERO), Duration::ZERO);
    }

    #[tokio::test]
    async fn deadlines_come_from_the_header_capped_by_the_service() {
        let mut h = http::HeaderMap::new();
        h.insert(DEADLINE_HEADER, http::HeaderValue::from_static("200"));
        let d = deadline_from(&h, Duration::from_secs(10));
        let left = with_deadline(d, async { remaining() })
            .await
            .expect("inside a request");
        assert!(
            left <= Duration::from_millis(200) && left > Duration::from_millis(100),
            "{left:?}"
        );
        h.insert(DEADLINE_HEADER, http::HeaderValue::from_static("999999"));
        let capped = deadline_from(&h, Duration::from_secs(1));
        assert!(capped <= Instant::now() + Duration::from_secs(1));
        assert_eq!(remaining(), None);
    }
}
