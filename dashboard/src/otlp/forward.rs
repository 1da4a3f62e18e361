//! Forwarding: every OTLP export the dashboard accepts is also sent on, as it came, to an
//! external collector (`DASHBOARD_FORWARD_OTLP`: its OTLP/HTTP base URL, protobuf), so the
//! stack that `apiary up` runs feeds the backends SREs run and the embedded dashboard at once
//! while each service still exports once.
//!
//! The receivers never wait for the collector: requests go into a bounded queue that one task
//! drains. A full queue drops the request, a refused or failed post is not retried (the
//! collector's own retry is on its exporters, not its receiver); both are counted in
//! `dashboard_forward_requests_total{signal, outcome}` (`sent`, `failed`, `dropped`), so a
//! lossy link shows up on the telemetry pipeline's dashboard and alert.

use std::time::Duration;

use prost::Message;
use tokio::sync::mpsc;

/// Requests waiting to be forwarded, at most.
pub const QUEUE: usize = 512;
/// The forwarding counter.
pub const REQUESTS: &str = "dashboard_forward_requests_total";
/// How long one post may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// One of the three OTLP signals, as its OTLP/HTTP path names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Logs,
    Metrics,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Logs => "logs",
            Signal::Metrics => "metrics",
        }
    }
}

/// The sending half; cheap to hold in the ingest path.
#[derive(Debug, Clone)]
pub struct Forwarder {
    tx: mpsc::Sender<(Signal, Vec<u8>)>,
}

impl Forwarder {
    /// Starts the task that posts to `endpoint` (`http://collector:4318`), and describes the
    /// counter. Needs a Tokio runtime.
    pub fn start(endpoint: &str) -> Self {
        metrics::describe_counter!(
            REQUESTS,
            "OTLP export requests forwarded to the external collector, by signal and outcome (sent, failed, dropped)."
        );
        for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
            for outcome in ["sent", "failed", "dropped"] {
                metrics::counter!(REQUESTS, "signal" => signal.as_str(), "outcome" => outcome)
                    .increment(0);
            }
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(drain(endpoint.trim_end_matches('/').to_owned(), rx));
        Self { tx }
    }

    /// Queues `request` (encoded here) for the collector; drops it when the queue is full.
    pub fn offer(&self, signal: Signal, request: &impl Message) {
        let outcome = match self.tx.try_send((signal, request.encode_to_vec())) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(_)) => "dropped",
            // The task is gone (shutdown): nothing to count against the link.
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        };
        metrics::counter!(REQUESTS, "signal" => signal.as_str(), "outcome" => outcome).increment(1);
    }
}

async fn drain(endpoint: String, mut rx: mpsc::Receiver<(Signal, Vec<u8>)>) {
    let client = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the forwarding client; forwarding is off");
            return;
        }
    };
    let mut failing = false;
    while let Some((signal, body)) = rx.recv().await {
        let sent = client
            .post(format!("{endpoint}/v1/{}", signal.as_str()))
            .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
            .body(body)
            .send()
            .await;
        let ok = match sent {
            Ok(r) if r.status().is_success() => true,
            Ok(r) => {
                if !failing {
                    tracing::warn!(status = %r.status(), %endpoint, "the collector refuses forwarded telemetry");
                }
                false
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, %endpoint, "cannot forward telemetry to the collector");
                }
                false
            }
        };
        if ok && failing {
            tracing::info!(%endpoint, "forwarding to the collector works again");
        }
        failing = !ok;
        let outcome = if ok { "sent" } else { "failed" };
        metrics::counter!(REQUESTS, "signal" => signal.as_str(), "outcome" => outcome).increment(1);
    }
}
