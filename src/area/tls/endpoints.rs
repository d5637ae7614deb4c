//! Declared endpoints: what their URL says, which repository evidence
//! watches their certificate, and (online) what they serve.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use chrono::DateTime;

use super::section::{
    Coverage, Endpoint, ExpiryMonitor, Family, HostSource, HttpSeen, Observed, Tls, TlsSeen,
};
use crate::document::rules::RuleKind;
use crate::evidence::Location;
use crate::probe::tls::Handshake;
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
pub(super) struct Target {
    tls: Option<(String, u16)>,
    http: Option<url::Url>,
}

pub(super) fn target(raw: &str) -> Result<Target, String> {
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
            _ if url.port() == Some(0) => Err("port 0 is not a port".into()),
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

/// Most sources listed per endpoint (covering or not); the rest are counted.
const MAX_LISTED: usize = 10;

/// What coverage is judged against: the distinct sources naming each host
/// (those an alert covers first, a few kept, the rest counted), so an
/// endpoint looks up its own name and its parent's wildcard.
pub struct Watchers<'a> {
    by_host: HashMap<&'a str, Named<'a>>,
}

/// The sources naming one host: the first few, each with the alert that
/// covers it if any, and how many distinct ones there are in all.
#[derive(Default)]
struct Named<'a> {
    kept: Vec<(&'a HostSource, Option<&'a ExpiryMonitor>)>,
    seen: HashSet<(&'a str, &'a str, &'a str, u32)>,
}

impl<'a> Watchers<'a> {
    /// `monitors` are the alerts that may cover (production, warning
    /// ahead).
    pub fn new(sources: &'a [HostSource], monitors: &'a [ExpiryMonitor]) -> Self {
        // The earliest warning per family: the largest threshold, then any.
        let mut alert: BTreeMap<Family, &ExpiryMonitor> = BTreeMap::new();
        let days = |m: &ExpiryMonitor| m.threshold_days.unwrap_or(-1.0);
        let alerts = || monitors.iter().filter(|m| m.kind == RuleKind::Alert);
        for m in alerts() {
            let best = alert.entry(m.family).or_insert(m);
            if days(m) > days(best) {
                *best = m;
            }
        }
        let by_name: HashMap<&str, &ExpiryMonitor> =
            alerts().map(|m| (m.name.as_str(), m)).collect();
        let covering = |s: &HostSource| match &s.monitor {
            // The source is the watch itself: only it covers.
            Some(own) => by_name.get(own.as_str()).copied(),
            None => s.families.iter().find_map(|f| alert.get(f).copied()),
        };
        let mut by_host: HashMap<&str, Named> = HashMap::new();
        for source in sources {
            let named = by_host.entry(source.host.as_str()).or_default();
            let key = (
                source.kind.as_str(),
                source.name.as_str(),
                source.location.path.as_str(),
                source.location.line,
            );
            if !named.seen.insert(key) {
                continue;
            }
            let monitor = covering(source);
            // Keep covered sources over uncovered ones.
            if named.kept.len() < 2 * MAX_LISTED {
                named.kept.push((source, monitor));
            } else if monitor.is_some()
                && let Some(slot) = named.kept.iter_mut().find(|(_, m)| m.is_none())
            {
                *slot = (source, monitor);
            }
        }
        Self { by_host }
    }

    /// The sources naming `host` (on `port`, when both say one), the alert
    /// covering each, and how many distinct sources name it in all.
    fn naming(
        &self,
        host: &str,
        port: Option<u16>,
    ) -> (Vec<(&'a HostSource, Option<&'a ExpiryMonitor>)>, usize) {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let wildcard = host
            .split_once('.')
            .map(|(_, parent)| format!("*.{parent}"));
        let mut found = Vec::new();
        let mut total = 0;
        for key in [Some(host.as_str()), wildcard.as_deref()]
            .into_iter()
            .flatten()
        {
            if let Some(named) = self.by_host.get(key) {
                total += named.seen.len();
                found.extend(
                    named
                        .kept
                        .iter()
                        .filter(|(s, _)| s.port.is_none() || port.is_none() || s.port == port)
                        .copied(),
                );
            }
        }
        (found, total)
    }
}

/// An endpoint with its URL read and its coverage found among what
/// `watchers` knows.
pub fn endpoint(d: Declared, watchers: &Watchers) -> Endpoint {
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
    let mut more_sources = 0;
    if let (Some(host), true) = (&host, tls) {
        let (named, total) = watchers.naming(host, port);
        let mut listed = 0;
        for (source, monitor) in named {
            let described = format!("{} {}", source.kind.as_str(), source.name);
            match monitor {
                Some(m) if covered_by.len() < MAX_LISTED => covered_by.push(Coverage {
                    source: described,
                    source_location: source.location.clone(),
                    family: m.family,
                    monitor: m.name.clone(),
                    monitor_location: m.location.clone(),
                }),
                None if uncovered_sources.len() < MAX_LISTED => {
                    let watch = match &source.monitor {
                        Some(own) => format!("`{own}` does not alert before expiry"),
                        None => {
                            let families: Vec<&str> =
                                source.families.iter().map(|f| f.as_str()).collect();
                            format!("no expiry alert on {} metrics", families.join(" or "))
                        }
                    };
                    uncovered_sources
                        .push(format!("{described} at {}, but {watch}", source.location));
                }
                _ => continue,
            }
            listed += 1;
        }
        more_sources = total.saturating_sub(listed);
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
        more_sources,
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
        let started = Instant::now();
        let (tls, http) = match (&target.tls, &target.http) {
            // https: one connection for the handshake and the GET.
            (Some((host, port)), Some(url)) => {
                let host_header = match url.port() {
                    Some(p) => format!("{}:{p}", url.host_str().unwrap_or(host)),
                    None => url.host_str().unwrap_or(host).to_string(),
                };
                let path = match url.query() {
                    Some(q) => format!("{}?{q}", url.path()),
                    None => url.path().to_string(),
                };
                match net.exchange(host, *port, &host_header, &path).await {
                    Ok((handshake, head)) => {
                        let http = match head {
                            Some(Ok(head)) => Some(Ok(answered(&net, url, head, started).await)),
                            Some(Err(e)) => Some(Err(e)),
                            None => None,
                        };
                        (Some(Ok(seen(handshake))), http.map(|r| r.and_then(|r| r)))
                    }
                    Err(e) => (Some(Err(e.clone())), Some(Err(e))),
                }
            }
            (Some((host, port)), None) => (Some(net.handshake(host, *port).await.map(seen)), None),
            (None, Some(url)) => {
                let answered = net.status(url).await.map(|a| HttpSeen {
                    status: a.status,
                    redirected_to: a.redirected_to,
                    latency_ms: started.elapsed().as_millis() as u64,
                    hsts: a.hsts,
                });
                (None, Some(answered))
            }
            (None, None) => (None, None),
        };
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

/// What an https endpoint answered over the handshake's connection; a
/// redirect is followed by the shared client (which bounds the hops).
async fn answered(
    net: &Net,
    url: &url::Url,
    head: crate::probe::tls::Head,
    started: Instant,
) -> Result<HttpSeen, ProbeError> {
    let next = head
        .location
        .as_deref()
        .filter(|_| (300..400).contains(&head.status))
        .and_then(|l| url.join(l).ok());
    match next {
        None => Ok(HttpSeen {
            status: head.status,
            redirected_to: None,
            latency_ms: started.elapsed().as_millis() as u64,
            hsts: head.hsts,
        }),
        Some(next) => {
            let a = net.status(&next).await?;
            Ok(HttpSeen {
                status: a.status,
                redirected_to: Some(a.redirected_to.unwrap_or_else(|| next.to_string())),
                latency_ms: started.elapsed().as_millis() as u64,
                hsts: a.hsts,
            })
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
    use crate::area::tls::section::SourceKind;
    use crate::evidence::Location;

    fn source(host: &str, port: Option<u16>, line: u32) -> HostSource {
        HostSource {
            kind: SourceKind::Ingress,
            name: "web".into(),
            host: host.into(),
            port,
            families: vec![Family::X509Exporter],
            monitor: None,
            location: Location::new("ingress.yaml", line, 1),
        }
    }

    fn declared(url: &str) -> Declared {
        Declared {
            name: "api".into(),
            url: url.into(),
            location: None,
            probe: true,
            expect_status: None,
            min_tls_days: None,
        }
    }

    #[test]
    fn one_object_naming_a_host_many_times_is_one_source() {
        // A hostile Ingress lists the host 20 000 times: one source, not
        // 20 000 strings per endpoint.
        let mut sources = vec![source("api.example.com", Some(443), 3); 20_000];
        sources.extend((0..30).map(|i| source("api.example.com", Some(443), 10 + i)));
        let watchers = Watchers::new(&sources, &[]);
        let e = endpoint(declared("https://api.example.com/"), &watchers);
        assert_eq!(e.uncovered_sources.len(), MAX_LISTED);
        assert_eq!(e.more_sources, 31 - MAX_LISTED);
    }

    #[test]
    fn wildcards_and_ports_decide_which_sources_name_a_host() {
        let sources = vec![
            source("*.example.com", Some(443), 1),
            source("api.example.com", Some(8443), 2),
            source("other.example.com", None, 3),
        ];
        let watchers = Watchers::new(&sources, &[]);
        let on_443 = endpoint(declared("https://API.example.com/"), &watchers);
        assert_eq!(
            on_443.uncovered_sources.len(),
            1,
            "{:?}",
            on_443.uncovered_sources
        );
        assert!(on_443.uncovered_sources[0].contains("ingress.yaml:1"));
        let on_8443 = endpoint(declared("api.example.com:8443"), &watchers);
        assert_eq!(on_8443.uncovered_sources.len(), 1);
        assert!(on_8443.uncovered_sources[0].contains("ingress.yaml:2"));
        let deep = endpoint(declared("https://a.b.example.com/"), &watchers);
        assert!(deep.uncovered_sources.is_empty());
    }

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
            "https://host:0/",
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
