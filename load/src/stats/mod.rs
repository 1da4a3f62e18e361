//! Measurements: per-step and per-journey HdrHistograms, errors by class, a per-second time
//! series, the slowest requests with their trace ids, and the Prometheus metrics.
//!
//! Latency is *corrected for coordinated omission*: every request is timed from its intended
//! start — for a journey's first step the arrival time the schedule gave it, for later steps the
//! moment the think time after the previous answer ran out — not from when it was finally
//! written to a socket. If the generator falls behind (a busy runtime, no free connection, a
//! late timer), that delay is what a shopper would have waited and it lands in the histogram.
//! The uncorrected *service time* (from the write) is kept beside it, to show the difference.
//!
//! # Layout
//! - `recorder` — [`Recorder`]: what every request and journey reports to, the per-second
//!   [`Recorder::tick`], and the histograms behind [`Recorder::results`].
//! - `outcome` — what a request or a journey came to ([`Outcome`], [`ErrorClass`],
//!   [`JourneyEnd`]).
//! - `metrics` — the `apiary_load_*` Prometheus metrics: names, descriptions, handles.
//! - `results` — what is reported ([`Results`], [`Totals`], [`Point`], ...), serialised as is
//!   for `--output` and `GET /status`.

mod metrics;
mod outcome;
mod recorder;
mod results;

pub use metrics::REQUEST_DURATION;
pub use outcome::{ErrorClass, JourneyEnd, Outcome};
pub use recorder::Recorder;
pub use results::{JourneyResult, Point, Quantiles, Results, SlowRequest, StepResult, Totals};
