//! One HTTP client for every live check: rustls on ring, bounded redirects,
//! and an address guard applied to DNS answers, IP literals and every
//! redirect hop.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

use super::Online;
use crate::diag::NetworkError;

/// Most of a page read to look for the alert's name.
const MAX_BODY: usize = 2 * 1024 * 1024;

/// A response, its body cut at [`MAX_BODY`].
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// The start of every HTTP client the gate builds (probes, GitHub): rustls
/// on ring and our user agent.
pub fn client_builder() -> reqwest::ClientBuilder {
    // One provider for the process; a second install is a harmless no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().user_agent(concat!("readygate/", env!("CARGO_PKG_VERSION")))
}

pub fn client(opts: &Online) -> Result<reqwest::Client, NetworkError> {
    let allow_private = opts.allow_private;
    let max = opts.max_redirects;
    client_builder()
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout)
        .dns_resolver(GuardedResolver { allow_private })
        .redirect(redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max {
                let n = attempt.previous().len() - 1;
                return attempt.error(format!("more than {n} redirects (a redirect loop?)"));
            }
            match refused_literal(attempt.url(), allow_private) {
                Some(reason) => attempt.error(reason),
                None => attempt.follow(),
            }
        }))
        .build()
        .map_err(|e| NetworkError(format!("cannot build the HTTP client: {}", root_cause(&e))))
}

/// GET `url`; any error (guard, DNS, connect, timeout, redirects) as text.
pub async fn get(
    client: &reqwest::Client,
    url: &url::Url,
    allow_private: bool,
) -> Result<Fetched, NetworkError> {
    if let Some(reason) = refused_literal(url, allow_private) {
        return Err(NetworkError(reason));
    }
    let mut resp = client.get(url.clone()).send().await.map_err(describe)?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut body = Vec::new();
    while body.len() < MAX_BODY {
        match resp.chunk().await.map_err(describe)? {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => break,
        }
    }
    body.truncate(MAX_BODY);
    Ok(Fetched {
        status,
        content_type,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn describe(err: reqwest::Error) -> NetworkError {
    if err.is_timeout() {
        return NetworkError("timed out".into());
    }
    NetworkError(root_cause(&err))
}

/// The innermost message of an error chain: the part that says what happened.
fn root_cause(err: &dyn std::error::Error) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Whether an address may be probed: public unicast only, unless allowed.
pub fn is_allowed(ip: IpAddr, allow_private: bool) -> bool {
    if allow_private {
        return !ip.is_unspecified() && !ip.is_multicast();
    }
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local() // 169.254/16, cloud metadata
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))) // carrier-grade NAT
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_allowed(IpAddr::V4(v4), false);
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link-local
        }
    }
}

fn refusal(ip: IpAddr) -> String {
    format!(
        "{ip} is a private, loopback or link-local address; not probed (pass --online-allow-private to allow)"
    )
}

/// An IP-literal URL host that the guard refuses, with why.
fn refused_literal(url: &url::Url, allow_private: bool) -> Option<String> {
    let ip = match url.host()? {
        url::Host::Ipv4(v4) => IpAddr::V4(v4),
        url::Host::Ipv6(v6) => IpAddr::V6(v6),
        url::Host::Domain(_) => return None,
    };
    (!is_allowed(ip, allow_private)).then(|| refusal(ip))
}

/// The system resolver, with refused addresses removed from every answer.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| is_allowed(a.ip(), allow_private))
                .collect();
            match (allowed.is_empty(), all.first()) {
                (false, _) => Ok(Box::new(allowed.into_iter()) as Addrs),
                (true, Some(first)) => Err(refusal(first.ip()).into()),
                (true, None) => Err(format!("{host} has no addresses").into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_refuses_internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.169.254",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
        ] {
            assert!(!is_allowed(ip.parse().unwrap(), false), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(is_allowed(ip.parse().unwrap(), false), "{ip}");
        }
        assert!(is_allowed("127.0.0.1".parse().unwrap(), true));
    }
}
