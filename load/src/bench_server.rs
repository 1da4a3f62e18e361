//! `apiary-load bench-server`: the tiny HTTP/1.1 server the benchmarks and tests run against.
//!
//! Answers every request with a static `ok`. With `--stall-every 1s --stall-for 100ms` it
//! holds every request that arrives during the first 100 ms of each second until that window
//! ends — a stop-the-world pause (a GC, a lock, a full disk) — which is what exposes
//! coordinated omission. It measures how long it held each request and serves that histogram
//! at `GET /__stats`: when requests arrive when they were meant to, that *is* the true latency
//! distribution, independent of what any client reports.

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{Request, Response, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The stall pattern (none when `every` is None).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stall {
    pub every: Option<Duration>,
    pub duration: Duration,
}

impl Stall {
    /// How long a request arriving `since_start` after the server started is held.
    pub fn hold(&self, since_start: Duration) -> Duration {
        let Some(every) = self.every.filter(|e| !e.is_zero()) else {
            return Duration::ZERO;
        };
        let phase = Duration::from_nanos((since_start.as_nanos() % every.as_nanos()) as u64);
        self.duration.saturating_sub(phase)
    }

    /// The p-quantile (0..1) of the hold a uniform stream of arrivals sees: a fraction
    /// `duration / every` of arrivals is held, uniformly from 0 up to `duration`.
    pub fn true_quantile_ms(&self, q: f64) -> f64 {
        let Some(every) = self.every.filter(|e| !e.is_zero()) else {
            return 0.0;
        };
        let fraction = (self.duration.as_secs_f64() / every.as_secs_f64()).min(1.0);
        let tail = 1.0 - q;
        if tail >= fraction {
            0.0
        } else {
            self.duration.as_secs_f64() * 1000.0 * (1.0 - tail / fraction)
        }
    }
}

struct State {
    start: Instant,
    stall: Stall,
    held: Mutex<Histogram<u64>>,
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    stall: Stall,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let held = Histogram::new_with_bounds(1, 3_600_000_000, 3)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let state = Arc::new(State {
        start: Instant::now(),
        stall,
        held: Mutex::new(held),
    });
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: keep serving the connections we have.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(state.clone(), req));
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/__stats" {
        let body = {
            let h = state.held.lock().unwrap_or_else(|e| e.into_inner());
            let q = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
            serde_json::json!({
                "requests": h.len(),
                "held_ms": {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p999": q(0.999), "max": h.max() as f64 / 1000.0},
                "expected_ms": {
                    "p50": state.stall.true_quantile_ms(0.5),
                    "p90": state.stall.true_quantile_ms(0.9),
                    "p99": state.stall.true_quantile_ms(0.99),
                },
            })
        };
        return Ok(json(body.to_string()));
    }
    let arrived = Instant::now();
    let hold = state.stall.hold(arrived - state.start);
    if !hold.is_zero() {
        tokio::time::sleep(hold).await;
    }
    let held_us = (arrived.elapsed().as_micros() as u64).max(1);
    state
        .held
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .saturating_record(held_us);
    let mut resp = Response::new(Full::new(Bytes::from_static(b"ok\n")));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    Ok(resp)
}

fn json(body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalls_hold_until_the_window_ends_and_the_truth_follows() {
        let s = Stall {
            every: Some(Duration::from_secs(1)),
            duration: Duration::from_millis(100),
        };
        assert_eq!(
            s.hold(Duration::from_millis(1030)),
            Duration::from_millis(70)
        );
        assert_eq!(s.hold(Duration::from_millis(1500)), Duration::ZERO);
        // 10% of arrivals are held 0..100 ms: the slowest 1% waited 90..100 ms.
        assert!((s.true_quantile_ms(0.99) - 90.0).abs() < 1e-9);
        assert_eq!(s.true_quantile_ms(0.5), 0.0);
        assert_eq!(Stall::default().true_quantile_ms(0.99), 0.0);
    }
}
