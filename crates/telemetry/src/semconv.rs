//! The names both sides of an HTTP call are measured under (OpenTelemetry's stable HTTP
//! semantic conventions, in Prometheus spelling), shared by the server layer here and the
//! chassis's outbound client.

use http::Method;

/// Inbound request durations, by method, route template and status.
pub const SERVER_DURATION: &str = "http_server_request_duration_seconds";
/// Outbound call durations, by method, URL template, peer and status.
pub const CLIENT_DURATION: &str = "http_client_request_duration_seconds";

/// The semconv spelling of a method: known methods as they are, anything else `_OTHER`
/// (an unbounded method set would be a cardinality leak).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "_OTHER",
    }
}

/// Paths that are never traced or measured: scrapes and probes would drown the signal.
pub fn is_operational_path(path: &str) -> bool {
    path == "/metrics" || path.starts_with("/health/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_collapse_to_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        let custom = Method::from_bytes(b"PURGE").expect("valid token");
        assert_eq!(method_label(&custom), "_OTHER");
    }

    #[test]
    fn probes_and_scrapes_are_operational() {
        assert!(is_operational_path("/metrics"));
        assert!(is_operational_path("/health/ready"));
        assert!(!is_operational_path("/api/products"));
        assert!(!is_operational_path("/healthy"));
    }
}
