//! The target: the gateway's base URL, resolved once, and the rule that keeps load local.
//!
//! A load generator pointed at the wrong host is a denial-of-service tool, so anything that
//! does not resolve to this machine is refused unless `--allow-remote` says it is meant.

use std::net::SocketAddr;

/// Where requests go.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL as given, without a trailing slash (for messages and reports).
    pub url: String,
    /// `host[:port]`, sent as the `Host` header.
    pub authority: String,
    /// Prepended to every request path (empty for a gateway at `/`).
    pub prefix: String,
    /// Resolved addresses; connections go to the first.
    pub addrs: Vec<SocketAddr>,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("'{0}' is not a target URL (expected http://HOST[:PORT], e.g. http://127.0.0.1:8000)")]
    Malformed(String),
    #[error("'{0}': only plain http:// targets are supported (every Apiary hop is plain HTTP)")]
    Scheme(String),
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error(
        "refusing to load {url}: it resolves to {addr}, which is not this machine; pass --allow-remote if that is really meant"
    )]
    NotLocal { url: String, addr: SocketAddr },
}

impl TargetError {
    /// Exit status: 2 for a refused or malformed target (a usage error), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            TargetError::Resolve { .. } => 1,
            _ => 2,
        }
    }
}

/// Parses and resolves `url`; refuses non-local addresses unless `allow_remote`.
pub async fn resolve(url: &str, allow_remote: bool) -> Result<Target, TargetError> {
    let trimmed = url.trim_end_matches('/');
    let uri: http::Uri = trimmed
        .parse()
        .map_err(|_| TargetError::Malformed(url.to_owned()))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(_) => return Err(TargetError::Scheme(url.to_owned())),
        None => return Err(TargetError::Malformed(url.to_owned())),
    }
    let authority = uri
        .authority()
        .ok_or_else(|| TargetError::Malformed(url.to_owned()))?;
    if authority.as_str().contains('@') || uri.query().is_some() {
        return Err(TargetError::Malformed(url.to_owned()));
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(80);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|source| TargetError::Resolve {
            host: host.to_owned(),
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(TargetError::Resolve {
            host: host.to_owned(),
            source: std::io::Error::other("no addresses"),
        });
    }
    if !allow_remote && let Some(addr) = addrs.iter().find(|a| !is_local(a)) {
        return Err(TargetError::NotLocal {
            url: trimmed.to_owned(),
            addr: *addr,
        });
    }
    Ok(Target {
        url: trimmed.to_owned(),
        authority: authority.as_str().to_owned(),
        prefix: uri.path().trim_end_matches('/').to_owned(),
        addrs,
    })
}

/// Loopback, or the unspecified address (which the kernel routes to this host).
fn is_local(addr: &SocketAddr) -> bool {
    let ip = addr.ip();
    ip.is_loopback() || ip.is_unspecified()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loopback_targets_resolve_and_others_are_refused() {
        let t = resolve("http://127.0.0.1:8000/", false).await;
        let t = t.map_err(|e| e.to_string());
        assert_eq!(
            t.as_ref().map(|t| t.authority.as_str()),
            Ok("127.0.0.1:8000")
        );
        assert!(matches!(
            resolve("http://10.1.2.3:8000", false).await,
            Err(TargetError::NotLocal { .. })
        ));
        assert!(resolve("http://10.1.2.3:8000", true).await.is_ok());
        assert!(matches!(
            resolve("https://127.0.0.1", false).await,
            Err(TargetError::Scheme(_))
        ));
        assert!(matches!(
            resolve("not a url", false).await,
            Err(TargetError::Malformed(_))
        ));
    }
}
