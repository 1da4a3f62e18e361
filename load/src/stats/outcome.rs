//! What a request or a journey came to: an answer, an expected refusal or an error (by class),
//! and how a journey ended.

use crate::client::Failure;

/// A request's error, as reported: an unexpected HTTP status, a timeout, a broken connection,
/// or a success whose body was unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    Status(u16),
    Timeout,
    Connection,
    MalformedResponse,
}

impl ErrorClass {
    pub fn label(&self) -> String {
        match self {
            ErrorClass::Status(s) => format!("http_{s}"),
            ErrorClass::Timeout => "timeout".into(),
            ErrorClass::Connection => "connection".into(),
            ErrorClass::MalformedResponse => "malformed_response".into(),
        }
    }
}

impl From<Failure> for ErrorClass {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Timeout => ErrorClass::Timeout,
            Failure::Connection => ErrorClass::Connection,
        }
    }
}

/// What one request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Ok,
    /// A status the step expects as a business outcome (402 for a declined card, 409 out of
    /// stock): counted, but not an error.
    Rejected(u16),
    Error(ErrorClass),
}

/// How a journey ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JourneyEnd {
    Completed,
    /// A step got an error; the rest of the journey was skipped.
    Failed,
    /// The run stopped while the journey was under way.
    CutShort,
}

impl JourneyEnd {
    pub fn label(self) -> &'static str {
        match self {
            JourneyEnd::Completed => "completed",
            JourneyEnd::Failed => "failed",
            JourneyEnd::CutShort => "cut_short",
        }
    }
}
