//! Service configuration the chassis reads for every service: where it listens, where its
//! downstreams live. The typed reads themselves are `apiary-env`'s (re-exported as
//! [`crate::env`]).

use std::time::Duration;

use apiary_env::{EnvError, Source, millis_or, parse_or, port_or, url_or};

/// Where a service listens: `APIARY_HOST` (an IP address, loopback by default) and
/// `APIARY_PORT` (`default_port` unless set; 0 picks a free port).
pub fn listen_address(
    src: &impl Source,
    default_port: u16,
) -> Result<(std::net::IpAddr, u16), EnvError> {
    let host = parse_or(
        src,
        "APIARY_HOST",
        std::net::IpAddr::from([127, 0, 0, 1]),
        "an IP address, e.g. 127.0.0.1",
    )?;
    Ok((host, port_or(src, "APIARY_PORT", default_port)?))
}

/// Where a service keeps its data: `APIARY_DATA_DIR`, `.apiary/data` unless set (what
/// `apiary up` uses, relative to where it runs).
pub fn data_dir(src: &impl Source) -> std::path::PathBuf {
    apiary_env::raw(src, "APIARY_DATA_DIR").map_or_else(
        || std::path::PathBuf::from(".apiary/data"),
        std::path::PathBuf::from,
    )
}

/// Where one downstream service lives and how long one call to it may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downstream {
    /// `<NAME>_URL`: the service's base URL.
    pub url: String,
    /// `<NAME>_TIMEOUT_MS`: the budget of one call (the request's deadline may shorten it).
    pub timeout: Duration,
    /// `APIARY_DISCOVERY`: how its instances are found (default: the URL alone).
    pub discovery: crate::balance::Discovery,
}

impl Downstream {
    /// `<name>_URL` (`http://127.0.0.1:<default_port>`) and `<name>_TIMEOUT_MS`
    /// (`default_timeout_ms`).
    pub fn from_source(
        src: &impl Source,
        name: &str,
        default_port: u16,
        default_timeout_ms: u64,
    ) -> Result<Self, EnvError> {
        Ok(Self {
            url: url_or(
                src,
                &format!("{name}_URL"),
                &format!("http://127.0.0.1:{default_port}"),
            )?,
            timeout: millis_or(
                src,
                &format!("{name}_TIMEOUT_MS"),
                Duration::from_millis(default_timeout_ms),
            )?,
            discovery: parse_or(
                src,
                apiary_wire::discovery::DISCOVERY_VAR,
                crate::balance::Discovery::Static,
                "static, dns or file:<endpoints directory>",
            )?,
        })
    }
}

impl Downstream {
    /// The traced client for this downstream, named `peer` (its span and metric label), with
    /// other circuit-breaker settings when `breaker` is given (tests use short cool-downs).
    pub fn client(
        &self,
        peer: &str,
        breaker: Option<crate::resilience::BreakerConfig>,
    ) -> Result<crate::HttpClient, reqwest::Error> {
        let client = crate::HttpClient::new(peer, self.url.clone(), self.timeout)?;
        let client = match breaker {
            Some(b) => client.with_breaker(b),
            None => client,
        };
        Ok(client.with_discovery(self.discovery.clone()))
    }
}
