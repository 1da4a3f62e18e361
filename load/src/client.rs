//! The HTTP/1.1 client: a pool of keep-alive connections to the one target, each request
//! written and its response read by the journey that sends it.
//!
//! Why not hyper's client (its connection API was used until issue 19, reqwest and hyper-util's
//! pooled client before that; all measured, see README "Engine"): a hyper connection is a task
//! of its own, so every request is handed to it over a channel and its response handed back,
//! and every response's headers are collected into a `HeaderMap`. Against a static endpoint
//! that was 40 % of the generator's instructions (callgrind) — the difference between keeping up
//! with wrk on one core and not. A load generator talks to one address and reads three
//! headers, so here a request is written straight onto the socket from a reused buffer and the
//! response head is parsed in place by `httparse` (hyper's own parser); this module only does
//! the framing: `Content-Length`, `Transfer-Encoding: chunked` and close-delimited bodies, and
//! whether the connection can be reused.
//!
//! The pool is a stack of idle connections behind a mutex: take one (or dial a new one), send,
//! read the whole body, put it back. An optional cap on concurrent connections
//! (`--connections`) makes requests wait for a connection, which is the wait the latency
//! correction has to include.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderName, HeaderValue, header};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::target::Target;

/// A request's body (empty for a GET).
pub type Body = Bytes;

/// Why a request got no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Failure {
    /// No complete response within the request timeout.
    Timeout,
    /// Refused, reset, closed before a complete response, or not HTTP/1.x.
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
    idle: Mutex<Vec<Conn>>,
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

/// Attempts per request: a request that a pooled connection answered with nothing at all (the
/// server closed it while it sat idle) is sent once more on a fresh one if it is replayable;
/// anything else is the request's failure.
const ATTEMPTS: usize = 2;
/// Most response headers read (the shop's services send about ten).
const MAX_HEADERS: usize = 64;
/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Read size; a response of the shop fits in one or two.
const READ_CHUNK: usize = 16 * 1024;

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

    /// A request for `path_and_query` (the target's prefix is added) with the `Host` header;
    /// a path that is not a valid request target (a space, a control character) becomes `/`.
    pub fn request(&self, method: http::Method, path_and_query: &str, body: Body) -> Outgoing {
        let mut head = Vec::with_capacity(256);
        head.extend_from_slice(method.as_str().as_bytes());
        head.push(b' ');
        let path = request_target(&self.target.prefix, path_and_query);
        match path {
            Some((prefix, rest)) => {
                head.extend_from_slice(prefix.as_bytes());
                head.extend_from_slice(rest.as_bytes());
            }
            None => head.push(b'/'),
        }
        head.extend_from_slice(b" HTTP/1.1\r\n");
        let replayable = body.is_empty()
            && matches!(
                method,
                http::Method::GET
                    | http::Method::HEAD
                    | http::Method::OPTIONS
                    | http::Method::TRACE
            );
        let mut out = Outgoing {
            head,
            body,
            replayable,
        };
        out.header(&header::HOST, &self.host);
        if !out.body.is_empty() || !(method == http::Method::GET || method == http::Method::HEAD) {
            out.head.extend_from_slice(b"content-length: ");
            out.head
                .extend_from_slice(out.body.len().to_string().as_bytes());
            out.head.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Sends `req` and reads the whole response, within the request timeout.
    pub async fn send(&self, req: Outgoing) -> Result<Reply, Failure> {
        match tokio::time::timeout(self.timeout, self.exchange(req)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Timeout),
        }
    }

    async fn exchange(&self, req: Outgoing) -> Result<Reply, Failure> {
        let _permit = match &self.limit {
            Some(limit) => Some(limit.acquire().await.map_err(|_| Failure::Connection)?),
            None => None,
        };
        let replayable = req.replayable;
        let wire = req.finish();
        for _ in 0..ATTEMPTS {
            let (mut conn, reused) = match self.checkout() {
                Some(c) => (c, true),
                None => (self.connect().await?, false),
            };
            let sent = Instant::now();
            match conn.round_trip(&wire).await {
                Ok(response) => {
                    if response.reusable {
                        self.checkin(conn);
                    }
                    return Ok(Reply {
                        status: response.status,
                        body: response.body,
                        traceresponse: response.traceresponse,
                        sent,
                    });
                }
                // A pooled connection closed before a byte of an answer: most likely the
                // server closed it while it sat idle, so the request never reached it — but
                // it may have, and died answering. Sent again only if doing it twice is
                // harmless (Go's net/http rule): a safe method without a body, or a request
                // with an idempotency key.
                Err(Broken::ClosedUnanswered) if reused && replayable => {}
                Err(_) => return Err(Failure::Connection),
            }
        }
        Err(Failure::Connection)
    }

    /// An idle connection the server has not closed, if any.
    fn checkout(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(conn) = idle.pop() {
            if !conn.peer_closed() {
                return Some(conn);
            }
        }
        None
    }

    fn checkin(&self, conn: Conn) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
    }

    async fn connect(&self) -> Result<Conn, Failure> {
        let addr = self.target.addrs[0];
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|_| Failure::Connection)?;
        // Requests are small and written whole: waiting for Nagle only adds latency.
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            buf: BytesMut::with_capacity(READ_CHUNK),
        })
    }
}

/// `prefix` and `path_and_query` if together they are a valid origin-form request target
/// (`path_and_query` starts with `/`, both visible ASCII only), else None.
fn request_target<'a>(prefix: &'a str, path_and_query: &'a str) -> Option<(&'a str, &'a str)> {
    let visible = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
    (path_and_query.starts_with('/') && visible(prefix) && visible(path_and_query))
        .then_some((prefix, path_and_query))
}

/// A request on its way out, written in wire form as it is built: request line, `Host`,
/// `Content-Length` when there is a body, then the headers added. Building an `http::Request`
/// (its `Uri` parsed, a `HeaderMap` filled) only to serialise it again cost a fifth of the
/// generator's instructions per request.
#[derive(Debug)]
pub struct Outgoing {
    head: Vec<u8>,
    body: Body,
    /// Whether sending it twice is harmless (see [`Client::send`]'s retry).
    replayable: bool,
}

impl Outgoing {
    /// Adds a header (names and values are validated by their types).
    pub fn header(&mut self, name: &HeaderName, value: &HeaderValue) -> &mut Self {
        if name.as_str() == "idempotency-key" {
            self.replayable = true;
        }
        self.head.extend_from_slice(name.as_str().as_bytes());
        self.head.extend_from_slice(b": ");
        self.head.extend_from_slice(value.as_bytes());
        self.head.extend_from_slice(b"\r\n");
        self
    }

    /// Adds every header of `map` (what a propagator wrote: `traceparent`, `tracestate`).
    pub fn headers(&mut self, map: &http::HeaderMap) -> &mut Self {
        for (name, value) in map {
            self.header(name, value);
        }
        self
    }

    /// The bytes to write: the head, the empty line, the body.
    fn finish(mut self) -> Vec<u8> {
        self.head.extend_from_slice(b"\r\n");
        self.head.extend_from_slice(&self.body);
        self.head
    }
}

/// One keep-alive connection and what has been read from it but not yet used.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

/// Why a round trip got no complete response.
#[derive(Debug, PartialEq, Eq)]
enum Broken {
    /// Closed (or reset) before a single byte of a response.
    ClosedUnanswered,
    /// Closed mid-response, unparseable, or too large a head.
    Failed,
}

/// A complete response, and whether its connection can carry the next request.
struct Response {
    status: u16,
    body: Bytes,
    traceresponse: Option<HeaderValue>,
    reusable: bool,
}

/// What a response's head says about the body that follows and the connection.
struct Head {
    status: u16,
    length: Option<usize>,
    chunked: bool,
    close: bool,
    traceresponse: Option<HeaderValue>,
}

impl Conn {
    /// Whether the server has closed its side, as far as the runtime has seen (its readiness
    /// says so after the peer's FIN arrived: no system call). What this misses — a close in
    /// flight — the retry of replayable requests covers.
    fn peer_closed(&self) -> bool {
        let ready = self.stream.ready(tokio::io::Interest::READABLE);
        let mut ready = std::pin::pin!(ready);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        matches!(
            ready.as_mut().poll(&mut cx),
            std::task::Poll::Ready(Ok(r)) if r.is_read_closed() || r.is_error()
        )
    }

    async fn round_trip(&mut self, wire: &[u8]) -> Result<Response, Broken> {
        // A pooled connection has nothing pending: anything left over would be misread as
        // this request's response.
        if !self.buf.is_empty() {
            return Err(Broken::Failed);
        }
        if self.stream.write_all(wire).await.is_err() {
            return Err(Broken::ClosedUnanswered);
        }
        let head = loop {
            match parse_head(&self.buf)? {
                Some((n, head)) => {
                    self.buf.advance(n);
                    // 1xx (100 Continue, 103 Early Hints): the real response follows.
                    if (100..200).contains(&head.status) {
                        continue;
                    }
                    break head;
                }
                None if self.buf.len() > MAX_HEAD => return Err(Broken::Failed),
                None => {
                    let fresh = self.buf.is_empty();
                    if !self.fill().await {
                        return Err(if fresh {
                            Broken::ClosedUnanswered
                        } else {
                            Broken::Failed
                        });
                    }
                }
            }
        };
        let no_body = head.status == 204 || head.status == 304;
        let (body, reusable) = if no_body {
            (Bytes::new(), !head.close)
        } else if head.chunked {
            (self.read_chunked().await?, !head.close)
        } else if let Some(length) = head.length {
            (self.read_exact(length).await?, !head.close)
        } else {
            // Neither length nor chunks: the body runs to the end of the connection.
            while self.fill().await {}
            (self.buf.split().freeze(), false)
        };
        Ok(Response {
            status: head.status,
            body,
            traceresponse: head.traceresponse,
            reusable: reusable && self.buf.is_empty(),
        })
    }

    /// Reads more from the socket; false at end of stream (or on an error).
    async fn fill(&mut self) -> bool {
        self.buf.reserve(READ_CHUNK);
        matches!(self.stream.read_buf(&mut self.buf).await, Ok(n) if n > 0)
    }

    async fn read_exact(&mut self, length: usize) -> Result<Bytes, Broken> {
        while self.buf.len() < length {
            if !self.fill().await {
                return Err(Broken::Failed);
            }
        }
        Ok(self.buf.split_to(length).freeze())
    }

    /// A chunked body, reassembled (trailers are read and dropped).
    async fn read_chunked(&mut self) -> Result<Bytes, Broken> {
        let mut body = BytesMut::new();
        loop {
            match httparse::parse_chunk_size(&self.buf) {
                Ok(httparse::Status::Complete((start, size))) => {
                    let size = usize::try_from(size).map_err(|_| Broken::Failed)?;
                    if size == 0 {
                        self.buf.advance(start);
                        self.skip_trailers().await?;
                        return Ok(body.freeze());
                    }
                    let end = start.checked_add(size).ok_or(Broken::Failed)?;
                    // The chunk's data and its closing CRLF.
                    while self.buf.len() < end + 2 {
                        if !self.fill().await {
                            return Err(Broken::Failed);
                        }
                    }
                    if &self.buf[end..end + 2] != b"\r\n" {
                        return Err(Broken::Failed);
                    }
                    body.extend_from_slice(&self.buf[start..end]);
                    self.buf.advance(end + 2);
                }
                Ok(httparse::Status::Partial) => {
                    if self.buf.len() > MAX_HEAD || !self.fill().await {
                        return Err(Broken::Failed);
                    }
                }
                Err(_) => return Err(Broken::Failed),
            }
        }
    }

    /// After the last chunk: trailer lines up to and including the empty line.
    async fn skip_trailers(&mut self) -> Result<(), Broken> {
        loop {
            match self.buf.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.buf.advance(2);
                    return Ok(());
                }
                Some(line) => self.buf.advance(line + 2),
                None => {
                    if self.buf.len() > MAX_HEAD || !self.fill().await {
                        return Err(Broken::Failed);
                    }
                }
            }
        }
    }
}

/// Parses a response head from the start of `buf`: its length and what it says, or None if
/// it is not all there yet.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Head)>, Broken> {
    // Left uninitialised: httparse writes those it parses (zeroing 64 of them per response was
    // a tenth of the parse).
    let mut headers =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let n = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut headers,
    ) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(Broken::Failed),
    };
    let status = response.code.ok_or(Broken::Failed)?;
    let mut head = Head {
        status,
        length: None,
        chunked: false,
        // HTTP/1.0 closes unless it says keep-alive; HTTP/1.1 keeps alive unless it says close.
        close: response.version != Some(1),
        traceresponse: None,
    };
    // A transfer coding other than chunked last: only the end of the stream ends the body,
    // whatever a Content-Length or keep-alive says (RFC 9112, 6.3).
    let mut to_the_end = false;
    for h in response.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let length = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or(Broken::Failed)?;
            // Two different lengths: which one frames the body is anyone's guess.
            if head.length.is_some_and(|l| l != length) {
                return Err(Broken::Failed);
            }
            head.length = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = h
                .value
                .split(|b| *b == b',')
                .next_back()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            to_the_end = !head.chunked;
        } else if name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|b| *b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    head.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && response.version == Some(0) {
                    head.close = false;
                }
            }
        } else if name.eq_ignore_ascii_case("traceresponse") {
            head.traceresponse = HeaderValue::from_bytes(h.value).ok();
        }
    }
    if to_the_end {
        head.length = None;
        head.close = true;
    }
    Ok(Some((n, head)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        match parse_head(text.as_bytes()) {
            Ok(Some((n, head))) => {
                assert_eq!(n, text.len(), "the whole head is consumed");
                head
            }
            other => panic!("{text:?}: {:?}", other.map(|o| o.map(|(n, _)| n))),
        }
    }

    #[test]
    fn heads_say_how_the_body_is_framed_and_whether_the_connection_stays() {
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\ntraceresponse: 00-ab-cd-01\r\n\r\n");
        assert_eq!(
            (h.status, h.length, h.chunked, h.close),
            (200, Some(12), false, false)
        );
        assert_eq!(
            h.traceresponse.as_ref().map(|v| v.as_bytes()),
            Some(&b"00-ab-cd-01"[..])
        );
        let h = head(
            "HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: gzip, chunked\r\nconnection: close\r\n\r\n",
        );
        assert_eq!(
            (h.status, h.length, h.chunked, h.close),
            (503, None, true, true)
        );
        let h = head("HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n");
        assert!(h.close, "HTTP/1.0 without keep-alive closes");
        let h = head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\ncontent-length: 2\r\n\r\n");
        assert!(!h.close);
        let h = head("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n");
        assert!(
            h.close && !h.chunked,
            "a body only the end of the stream ends"
        );
        let h = head(
            "HTTP/1.0 200 OK\r\ntransfer-encoding: gzip\r\ncontent-length: 9\r\nconnection: keep-alive\r\n\r\n",
        );
        assert!(
            h.close && !h.chunked && h.length.is_none(),
            "a coding other than chunked frames by the end of the stream, over a length or keep-alive"
        );
        // Not all there yet.
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\ncontent-le"),
            Ok(None)
        ));
        // Not HTTP, conflicting lengths, a length that is not a number.
        for bad in [
            "SSH-2.0-OpenSSH\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: two\r\n\r\n",
        ] {
            assert!(
                matches!(parse_head(bad.as_bytes()), Err(Broken::Failed)),
                "{bad}"
            );
        }
    }

    #[test]
    fn requests_are_written_with_their_headers_and_length() {
        let target = Target {
            url: "http://127.0.0.1:8000/shop".into(),
            authority: "127.0.0.1:8000".into(),
            prefix: "/shop".into(),
            addrs: vec![std::net::SocketAddr::from(([127, 0, 0, 1], 8000))],
        };
        let client = Client::new(target, Duration::from_secs(1), None);
        let mut req = client.request(http::Method::GET, "/api/products?limit=2", Body::new());
        req.header(
            &HeaderName::from_static("baggage"),
            &HeaderValue::from_static("synthetic_request=true"),
        );
        assert_eq!(
            String::from_utf8_lossy(&req.finish()),
            "GET /shop/api/products?limit=2 HTTP/1.1\r\nhost: 127.0.0.1:8000\r\nbaggage: synthetic_request=true\r\n\r\n"
        );
        let req = client.request(http::Method::POST, "/api/carts", Bytes::from_static(b"{}"));
        assert_eq!(
            String::from_utf8_lossy(&req.finish()),
            "POST /shop/api/carts HTTP/1.1\r\nhost: 127.0.0.1:8000\r\ncontent-length: 2\r\n\r\n{}"
        );
        // Nothing that could split the request line or smuggle a header gets onto the wire.
        for bad in ["/a b", "/a\r\nx-evil: 1", "no-slash"] {
            let req = client.request(http::Method::GET, bad, Body::new());
            assert!(req.finish().starts_with(b"GET / HTTP/1.1\r\n"), "{bad:?}");
        }
    }

    /// A one-connection server that answers each request with the next canned response.
    async fn canned(responses: Vec<&'static [u8]>) -> Client {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 4096];
            for response in responses {
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                // Written in two pieces, so the client has to put them together.
                let (a, b) = response.split_at(response.len() / 2);
                let _ = socket.write_all(a).await;
                tokio::time::sleep(Duration::from_millis(5)).await;
                let _ = socket.write_all(b).await;
            }
        });
        let target = Target {
            url: format!("http://{addr}"),
            authority: addr.to_string(),
            prefix: String::new(),
            addrs: vec![addr],
        };
        Client::new(target, Duration::from_secs(2), None)
    }

    #[tokio::test]
    async fn bodies_are_read_by_length_by_chunks_and_to_the_end_on_one_connection() {
        let client = canned(vec![
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nx-trailer: 1\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nto the end",
        ])
        .await;
        let get = || client.request(http::Method::GET, "/", Body::new());
        let mut got = Vec::new();
        for _ in 0..5 {
            let reply = client.send(get()).await.unwrap_or_else(|f| panic!("{f:?}"));
            got.push((reply.status, reply.body));
        }
        assert_eq!(
            got,
            [
                (200, Bytes::from_static(b"hello")),
                (201, Bytes::from_static(b"abcdefg")),
                (204, Bytes::new()),
                (404, Bytes::new()),
                (200, Bytes::from_static(b"to the end")),
            ]
        );
        // All five came over the one connection the server accepts; the last closed it.
        assert!(client.checkout().is_none());
        assert_eq!(client.send(get()).await.err(), Some(Failure::Connection));
    }

    /// A server that answers the first request on each connection; what it does with the next
    /// is `then`: close at once (`true`: a server closing a keep-alive connection it found idle
    /// too long) or read the next request and close without answering (`false`: one that died
    /// mid-request). Counts the requests it read.
    async fn one_answer_per_connection(
        close_at_once: bool,
    ) -> (Client, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        async fn read_head(socket: &mut TcpStream) -> bool {
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            true
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let seen = Arc::new(AtomicUsize::new(0));
        let counted = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let seen = counted.clone();
                tokio::spawn(async move {
                    if !read_head(&mut socket).await {
                        return;
                    }
                    seen.fetch_add(1, Ordering::SeqCst);
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if socket.write_all(answer).await.is_err() || close_at_once {
                        return;
                    }
                    if read_head(&mut socket).await {
                        seen.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        let target = Target {
            url: format!("http://{addr}"),
            authority: addr.to_string(),
            prefix: String::new(),
            addrs: vec![addr],
        };
        (Client::new(target, Duration::from_secs(2), None), seen)
    }

    fn keyed(mut req: Outgoing) -> Outgoing {
        req.header(
            &HeaderName::from_static("idempotency-key"),
            &HeaderValue::from_static("k-1"),
        );
        req
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_while_idle_is_not_used() {
        use std::sync::atomic::Ordering;
        let (client, seen) = one_answer_per_connection(true).await;
        for i in 0..3 {
            if i > 0 {
                // The server's close reaches the pooled connection while it sits idle.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // A POST without a key is never sent twice, so it only succeeds if the closed
            // connection was noticed before sending on it.
            let post = client.request(http::Method::POST, "/api/carts", Bytes::from_static(b"{}"));
            let reply = client.send(post).await.unwrap_or_else(|f| panic!("{f:?}"));
            assert_eq!((reply.status, &reply.body[..]), (200, &b"ok"[..]));
        }
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn only_a_replayable_request_is_sent_again_when_a_pooled_connection_dies() {
        use std::sync::atomic::Ordering;
        let (client, seen) = one_answer_per_connection(false).await;
        let get = || client.request(http::Method::GET, "/", Body::new());
        let post = || {
            client.request(
                http::Method::POST,
                "/api/checkout",
                Bytes::from_static(b"{}"),
            )
        };
        let ok = |r: Result<Reply, Failure>| r.map(|r| r.status);
        assert_eq!(ok(client.send(get()).await), Ok(200));
        // Read and dropped on the pooled connection: a GET is sent again on a new one.
        assert_eq!(ok(client.send(get()).await), Ok(200));
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        // A POST may have been done by the server that died: it fails rather than repeat.
        assert_eq!(ok(client.send(post()).await), Err(Failure::Connection));
        assert_eq!(seen.load(Ordering::SeqCst), 4);
        // With an idempotency key, repeating is harmless.
        assert_eq!(ok(client.send(keyed(post())).await), Ok(200));
        assert_eq!(ok(client.send(keyed(post())).await), Ok(200));
        assert_eq!(seen.load(Ordering::SeqCst), 7);
    }

    #[tokio::test]
    async fn a_response_cut_short_or_not_http_fails_the_request() {
        for response in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nshort"[..],
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab",
            b"this is not http at all\r\n\r\n",
        ] {
            let client = canned(vec![response]).await;
            let reply = client
                .send(client.request(http::Method::GET, "/", Body::new()))
                .await;
            assert_eq!(reply.err(), Some(Failure::Connection), "{response:?}");
            assert!(
                client.checkout().is_none(),
                "a broken connection is not reused"
            );
        }
    }
}
