//! A fault in one line, as the dashboard, the launcher and drill reports list it.

use std::fmt;

use super::spec::FaultSpec;

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = |route: &Option<String>| {
            route
                .as_ref()
                .map(|r| format!(" on {r}"))
                .unwrap_or_default()
        };
        match self {
            FaultSpec::ErrorRate {
                service,
                percent,
                route,
                status,
            } => write!(
                f,
                "{service}: {percent}% errors{}{}",
                status.map(|s| format!(" ({s})")).unwrap_or_default(),
                on(route)
            ),
            FaultSpec::Latency {
                service,
                ms,
                jitter_ms,
                percent,
                route,
            } => write!(
                f,
                "{service}: +{ms}ms (±{jitter_ms}ms) on {percent}%{}",
                on(route)
            ),
            FaultSpec::Hang { service, percent } => {
                write!(f, "{service}: {percent}% of requests hang")
            }
            FaultSpec::CpuBurn { service, ms } => {
                write!(f, "{service}: {ms}ms CPU burn per request")
            }
            FaultSpec::MemoryLeak { service, mib } => {
                write!(f, "{service}: memory leak up to {mib} MiB")
            }
            FaultSpec::FailingReadiness { service } => write!(f, "{service}: readiness failing"),
            FaultSpec::Crash { service, percent } => {
                write!(f, "{service}: crash on {percent}% of requests")
            }
            FaultSpec::SlowStore { service, ms } => write!(f, "{service}: data store +{ms}ms"),
            FaultSpec::CartStoreLost {} => write!(f, "cart: store lost"),
            FaultSpec::ConsumerSlow { service, ms } => {
                write!(f, "{service}: consumer +{ms}ms per message")
            }
            FaultSpec::ConsumerCrash { service, percent } => {
                write!(f, "{service}: consumer crashes on {percent}% of deliveries")
            }
            FaultSpec::PoisonMessage { service, percent } => {
                write!(f, "{service}: malformed event after {percent}% of events")
            }
            FaultSpec::BrokerDown {} => write!(f, "broker: every service cut off"),
            FaultSpec::DuplicateDelivery { service, percent } => {
                write!(f, "{service}: {percent}% of deliveries arrive twice")
            }
            FaultSpec::TargetedFailure {
                product_id,
                card_prefix,
                percent,
            } => match (product_id, card_prefix) {
                (_, Some(p)) => write!(f, "payment: cards {p}… fail ({percent}%)"),
                (Some(id), _) => write!(f, "catalog: product {id} fails ({percent}%)"),
                _ => write!(f, "targeted failure"),
            },
            FaultSpec::BadDeploy {
                service,
                version,
                error_percent,
            } => write!(
                f,
                "{service}: bad deploy {version} ({error_percent}% errors)"
            ),
            FaultSpec::Unreachable { service, peer } => {
                write!(f, "{service} -> {peer}: unreachable")
            }
            FaultSpec::Partition { a, b } => write!(f, "{a} <-> {b}: partitioned"),
            FaultSpec::RetryStorm {
                service,
                retries,
                peer,
            } => write!(
                f,
                "{service}: retry storm x{retries}{}",
                peer.as_ref()
                    .map(|p| format!(" to {p}"))
                    .unwrap_or_default()
            ),
            FaultSpec::TrafficSpike { factor } => write!(f, "traffic spike x{factor}"),
        }
    }
}
