//! Declared endpoints: what their URL says, which repository evidence
//! watches their certificate, and (online) what they serve.

use std::time::Instant;

use chrono::DateTime;

use super::section::{
    Coverage, Endpoint, ExpiryMonitor, HostSource, HttpSeen, Observed, Tls, TlsSeen,
};
use crate::document::rules::RuleKind;
use crate::evidence::Location;
use crate::probe::tls::{Handshake, names_cover};
use crate::probe::{Net, Probe, ProbeError, Probes};

/// A declared endpoint before it is judged.
pub struct Declared {
    pub name: String,
    pub url: String,
    pub location: Option<Location>,
    pub probe: bool,
    pub expect_status: Option<u16>,
    pub min_tls_days: Option<u32>,
}

/// Where a URL leads: a TLS handshake (`https://`, `host:port`) and/or an
/// HTTP request (`http(s)://`).
#[derive(Debug, Clone, PartialEq)]
struct Target {
    tls: Option<(String, u16)>,
    http: Option<url::Url>,
}

fn target(raw: &str) -> Result<Target, String> {
    let raw = raw.trim();
    if raw.contains("://") {
        let url = url::Url::parse(raw).map_err(|e| format!("not a valid URL: {e}"))?;
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err("the URL has no host".into()),
        };
        return match url.scheme() {
            "https" => Ok(Target {
                tls: Some((host, url.port().unwrap_or(443))),
                http: Some(url),
            }),
            "http" => Ok(Target {
                tls: None,
                http: Some(url),
            }),
            other => Err(format!(
                "`{other}://` is not probed: use https://host/path, http://host/path or host:port (raw TLS)"
            )),
        };
    }
    let (host, port) = raw.rsplit_once(':').ok_or_else(|| {
        "neither a URL nor host:port (write https://host/path, or host:port for raw TLS)"
            .to_string()
    })?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("`{port}` is not a port"))?;
    let host = host.trim_matches(['[', ']']);
    if host.is_empty() || host.contains(['/', ' ', '@']) {
        return Err(format!("`{host}` is not a host name"));
    }
    Ok(Target {
        tls: Some((host.to_string(), port)),
        http: None,
    })
}

/// An endpoint with its URL read and its coverage found among `sources` and
/// the alerting `monitors`.
pub fn endpoint(d: Declared, sources: &[HostSource], monitors: &[ExpiryMonitor]) -> Endpoint {
    let parsed = target(&d.url);
    let (host, port, tls, http, url_error) = match &parsed {
        Ok(t) => (
            t.tls.as_ref().map(|(h, _)| h.clone()).or_else(|| {
                t.http
                    .as_ref()
                    .and_then(|u| u.host_str())
                    .map(str::to_string)
            }),
            t.tls.as_ref().map(|(_, p)| *p),
            t.tls.is_some(),
            t.http.is_some(),
            None,
        ),
        Err(e) => (None, None, false, false, Some(e.clone())),
    };
    let mut covered_by = Vec::new();
    let mut uncovered_sources = Vec::new();
    if let (Some(host), true) = (&host, tls) {
        for source in sources
            .iter()
            .filter(|s| names_cover(std::slice::from_ref(&s.host), host))
        {
            let described = format!("{} {}", source.kind.as_str(), source.name);
            let monitor = source.families.iter().find_map(|family| {
                // The earliest warning: the largest threshold, then any.
                monitors
                    .iter()
                    .filter(|m| m.kind == RuleKind::Alert && m.family == *family)
                    .max_by(|a, b| {
                        let days = |m: &ExpiryMonitor| m.threshold_days.unwrap_or(-1.0);
                        days(a).total_cmp(&days(b))
                    })
            });
            match monitor {
                Some(m) => covered_by.push(Coverage {
                    source: described,
                    source_location: source.location.clone(),
                    family: m.family,
                    monitor: m.name.clone(),
                    monitor_location: m.location.clone(),
                }),
                None => {
                    let families: Vec<&str> = source.families.iter().map(|f| f.as_str()).collect();
                    uncovered_sources.push(format!(
                        "{described} at {}, but no expiry alert on {} metrics",
                        source.location,
                        families.join(" or ")
                    ));
                }
            }
        }
    }
    Endpoint {
        name: d.name,
        url: d.url,
        location: d.location,
        host,
        port,
        tls,
        http,
        url_error,
        probe: d.probe,
        expect_status: d.expect_status,
        min_tls_days: d.min_tls_days,
        covered_by,
        uncovered_sources,
        observed: None,
    }
}

/// The live observation of an endpoint, keyed by its URL as written.
struct EndpointProbe;

impl Probe for EndpointProbe {
    const KIND: &'static str = "endpoint";
    type Output = Observed;

    async fn observe(&self, net: Net, key: String) -> Observed {
        let Ok(target) = target(&key) else {
            return Self::unobserved("not a usable URL".into());
        };
        let tls = async {
            match &target.tls {
                Some((host, port)) => Some(net.handshake(host, *port).await.map(seen)),
                None => None,
            }
        };
        let http = async {
            let url = target.http.as_ref()?;
            let started = Instant::now();
            let answered = net.status(url).await;
            Some(answered.map(|a| HttpSeen {
                status: a.status,
                redirected_to: a.redirected_to,
                latency_ms: started.elapsed().as_millis() as u64,
                hsts: a.hsts,
            }))
        };
        let (tls, http) = tokio::join!(tls, http);
        let (tls, tls_error) = split(tls);
        let (http, http_error) = split(http);
        Observed {
            tls,
            tls_error,
            http,
            http_error,
        }
    }

    fn unobserved(reason: String) -> Observed {
        Observed {
            tls: None,
            tls_error: Some(reason.clone()),
            http: None,
            http_error: Some(reason),
        }
    }
}

/// An observation or why there is none.
fn split<T>(result: Option<Result<T, ProbeError>>) -> (Option<T>, Option<String>) {
    match result {
        Some(Ok(seen)) => (Some(seen), None),
        Some(Err(err)) => (None, Some(err.0)),
        None => (None, None),
    }
}

fn rfc3339(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0).map_or_else(|| secs.to_string(), |t| t.to_rfc3339())
}

fn seen(h: Handshake) -> TlsSeen {
    let leaf = &h.chain[0];
    let earliest = h.chain.iter().min_by_key(|c| c.not_after).unwrap_or(leaf);
    TlsSeen {
        protocol: h.protocol.clone(),
        not_after: rfc3339(leaf.not_after),
        earliest_not_after: rfc3339(earliest.not_after),
        earliest_subject: earliest.subject.clone(),
        subject: leaf.subject.clone(),
        issuer: leaf.issuer.clone(),
        names: leaf.names.clone(),
        hostname_matches: h.hostname_matches,
        chain_error: h.chain_error.clone(),
        chain_length: h.chain.len(),
    }
}

/// Observe every endpoint that may be probed.
pub fn probe(tls: &mut Tls, probes: &Probes) -> Result<(), ProbeError> {
    tls.online = true;
    let keys = tls
        .endpoints
        .iter()
        .filter(|e| e.probe && e.url_error.is_none())
        .map(|e| e.url.trim().to_string());
    let observed = probes.observe(EndpointProbe, keys)?;
    for endpoint in &mut tls.endpoints {
        endpoint.observed = observed.get(endpoint.url.trim()).cloned();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_say_where_to_connect() {
        let t = target("https://api.example.com:8443/healthz").unwrap();
        assert_eq!(t.tls, Some(("api.example.com".into(), 8443)));
        assert!(t.http.is_some());
        let t = target("mail.example.com:993").unwrap();
        assert_eq!(t.tls, Some(("mail.example.com".into(), 993)));
        assert!(t.http.is_none());
        assert_eq!(target("http://x.example/").unwrap().tls, None);
        assert_eq!(target("[::1]:443").unwrap().tls, Some(("::1".into(), 443)));
        for bad in [
            "https://",
            "ftp://x/",
            "api.example.com",
            "x:99999",
            "x:https",
            ":443",
            "https://a b/",
        ] {
            assert!(target(bad).is_err(), "{bad}");
        }
    }
}
