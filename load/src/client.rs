//! The HTTP/1.1 client: a pool of keep-alive connections to the one target, on hyper's
//! connection API.
//!
//! Why not reqwest or hyper-util's pooled client (both measured, see README "Engine"): they
//! key their pool by origin, run a connector stack and (reqwest) build a URL per request, all
//! of which costs per request on one core; a load generator talks to one address. This pool is
//! a stack of idle connections behind a mutex: take one (or dial a new one), send, read the
//! whole body, put it back. An optional cap on concurrent connections (`--connections`) makes
//! requests wait for a connection, which is the wait the latency correction has to include.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::target::Target;

pub type Body = Full<Bytes>;

/// Why a request got no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Failure {
    /// No complete response within the request timeout.
    Timeout,
    /// Refused, reset, or closed before a complete response.
    Connection,
}

/// A complete response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
    /// The `traceresponse` header (W3C Trace Context level 2) naming the trace the target
    /// recorded, kept for the slowest requests so a person can open that trace.
    pub traceresponse: Option<HeaderValue>,
    /// When the request went onto a connection (after any wait for one): the start of the
    /// *service time*, reported beside the corrected latency to show what correction adds.
    pub sent: Instant,
}

pub struct Client {
    target: Target,
    host: HeaderValue,
    idle: Mutex<Vec<SendRequest<Body>>>,
    /// Caps connections in use when set (`--connections`).
    limit: Option<Arc<Semaphore>>,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("target", &self.target.url)
            .finish()
    }
}

/// Attempts per request: a pooled connection the server closed while it sat idle is retried
/// once on a fresh one (the request never left), anything else is the request's failure.
const ATTEMPTS: usize = 2;

impl Client {
    pub fn new(target: Target, timeout: Duration, connections: Option<usize>) -> Self {
        let host = HeaderValue::from_str(&target.authority)
            .unwrap_or_else(|_| HeaderValue::from_static("localhost"));
        Self {
            target,
            host,
            idle: Mutex::new(Vec::new()),
            limit: connections.map(|n| Arc::new(Semaphore::new(n.max(1)))),
            timeout,
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// A request for `path_and_query` (the target's prefix is added) with the `Host` header.
    pub fn request(&self, method: http::Method, path_and_query: &str, body: Body) -> Request<Body> {
        let mut req = Request::new(body);
        *req.method_mut() = method;
        let uri = format!("{}{}", self.target.prefix, path_and_query);
        *req.uri_mut() = uri.parse().unwrap_or_else(|_| http::Uri::from_static("/"));
        req.headers_mut().insert(header::HOST, self.host.clone());
        req
    }

    /// Sends `req` and reads the whole response, within the request timeout.
    pub async fn send(&self, req: Request<Body>) -> Result<Reply, Failure> {
        match tokio::time::timeout(self.timeout, self.exchange(req)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Timeout),
        }
    }

    async fn exchange(&self, mut req: Request<Body>) -> Result<Reply, Failure> {
        let _permit = match &self.limit {
            Some(limit) => Some(limit.acquire().await.map_err(|_| Failure::Connection)?),
            None => None,
        };
        for _ in 0..ATTEMPTS {
            let (mut sender, reused) = match self.checkout().await {
                Some(s) => (s, true),
                None => (self.connect().await?, false),
            };
            let sent = Instant::now();
            match sender.try_send_request(req).await {
                Ok(response) => {
                    let (parts, body) = response.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map_err(|_| Failure::Connection)?
                        .to_bytes();
                    self.checkin(sender);
                    return Ok(Reply {
                        status: parts.status.as_u16(),
                        body,
                        traceresponse: parts.headers.get("traceresponse").cloned(),
                        sent,
                    });
                }
                Err(mut err) => match err.take_message() {
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(Failure::Connection),
                },
            }
        }
        Err(Failure::Connection)
    }

    /// An idle connection that is still open and ready, if any.
    async fn checkout(&self) -> Option<SendRequest<Body>> {
        loop {
            let mut sender = {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                idle.pop()?
            };
            if sender.is_closed() {
                continue;
            }
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    fn checkin(&self, sender: SendRequest<Body>) {
        if !sender.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(sender);
        }
    }

    async fn connect(&self) -> Result<SendRequest<Body>, Failure> {
        let addr = self.target.addrs[0];
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|_| Failure::Connection)?;
        // Requests are small and written whole: waiting for Nagle only adds latency.
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|_| Failure::Connection)?;
        tokio::spawn(async move {
            // The connection ends when the server closes it or the last sender is dropped;
            // its error, if any, already failed the request that was on it.
            let _ = connection.await;
        });
        Ok(sender)
    }
}
