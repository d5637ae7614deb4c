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
    let builder = match (&opts.proxy, allow_private) {
        (Some(var), false) => {
            return Err(NetworkError(format!(
                "{var} is set: a proxy resolves host names itself, out of the address guard's sight, so --online does not start; unset it, or pass --online-allow-private to probe through the proxy"
            )));
        }
        // Allowed: through the proxy, as the environment says.
        (Some(_), true) => client_builder(),
        // Never a proxy the gate did not see.
        (None, _) => client_builder().no_proxy(),
    };
    let extra = opts
        .extra_roots
        .iter()
        .map(|der| reqwest::Certificate::from_der(der))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| NetworkError(format!("a --ca-file certificate: {}", root_cause(&e))))?;
    builder
        .https_only(opts.https_only)
        .tls_certs_merge(extra)
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
    let (status, content_type, mut body) = get_bytes(client, url, allow_private, MAX_BODY).await?;
    body.truncate(MAX_BODY);
    Ok(Fetched {
        status,
        content_type,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// GET `url`: status, content type and the body, read until `max` bytes
/// are exceeded (so a caller can tell "at most `max`" from "more").
pub async fn get_bytes(
    client: &reqwest::Client,
    url: &url::Url,
    allow_private: bool,
    max: usize,
) -> Result<(u16, String, Vec<u8>), NetworkError> {
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
    while body.len() <= max {
        match resp.chunk().await.map_err(describe)? {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => break,
        }
    }
    Ok((status, content_type, body))
}

/// What an endpoint answered, its body unread.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    pub status: u16,
    /// Where the redirects ended, when that is not the URL asked.
    pub redirected_to: Option<String>,
    /// Whether it sent `Strict-Transport-Security`.
    pub hsts: bool,
}

/// GET `url` and read only the status line and headers.
pub async fn status(
    client: &reqwest::Client,
    url: &url::Url,
    allow_private: bool,
) -> Result<Answered, NetworkError> {
    if let Some(reason) = refused_literal(url, allow_private) {
        return Err(NetworkError(reason));
    }
    let resp = client.get(url.clone()).send().await.map_err(describe)?;
    Ok(Answered {
        status: resp.status().as_u16(),
        redirected_to: (resp.url() != url).then(|| resp.url().to_string()),
        hsts: resp
            .headers()
            .contains_key(reqwest::header::STRICT_TRANSPORT_SECURITY),
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
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => {
            // Forms that carry an IPv4 address: judged by that address.
            if let Some(v4) = embedded_v4(v6) {
                return is_global_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 0x0001) // local-use NAT64 /48
                || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only /64
                || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments /23
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] & 0xfff0) == 0x3ff0 // documentation 3fff::/20
                || s[0] == 0x5f00 // segment routing SIDs
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0) // site-local (deprecated)
        }
    }
}

/// IANA's IPv4 special-purpose ranges that are not globally reachable.
fn is_global_v4(v4: std::net::Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(a == 0 // "this network" 0/8
        || v4.is_private() // 10/8, 172.16/12, 192.168/16
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT 100.64/10
        || a == 127 // loopback
        || v4.is_link_local() // 169.254/16, cloud metadata
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments /24
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // deprecated 6to4 relay anycast
        || (a == 198 && (b & 0xfe) == 18) // benchmarking 198.18/15
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224) // multicast 224/4, reserved 240/4, broadcast
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:AABB:CCDD::`)
/// address.
fn embedded_v4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let from = |hi: u16, lo: u16| {
        std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
        return Some(from(s[6], s[7])); // IPv4-compatible (deprecated)
    }
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return Some(from(s[6], s[7])); // well-known NAT64 prefix /96
    }
    if s[0] == 0x2002 {
        return Some(from(s[1], s[2])); // 6to4
    }
    None
}

pub(super) fn refusal(ip: IpAddr) -> String {
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
            "0.0.0.0",
            "0.1.2.3",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "255.255.255.255",
            "192.0.0.8",
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "64:ff9b::7f00:1",    // NAT64 of 127.0.0.1
            "2002:c0a8:0101::1",  // 6to4 of 192.168.1.1
            "::127.0.0.1",        // IPv4-compatible loopback
            "64:ff9b:1::1",
            "100::1",
            "2001:db8::1",
            "3fff::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(!is_allowed(ip.parse().unwrap(), false), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "64:ff9b::5db8:d822", // NAT64 of a public address
            "2002:5db8:d822::1",  // 6to4 of a public address
            "198.20.0.1",
            "100.128.0.1",
        ] {
            assert!(is_allowed(ip.parse().unwrap(), false), "{ip}");
        }
        assert!(is_allowed("127.0.0.1".parse().unwrap(), true));
    }
}
