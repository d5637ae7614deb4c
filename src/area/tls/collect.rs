//! What the repository says about certificates, document by document:
//! cert-manager certificates, blackbox and ssl_exporter probe targets,
//! Ingress and Gateway TLS hosts, Datadog SSL tests.

use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Body};

use super::Fact;
use super::section::{
    CertManagerCertificate, ExpiryMonitor, Family, HostSource, RuleRef, SourceKind,
};
use crate::document::{Document, Sink, block_label, kubernetes_objects, strings};
use crate::evidence::Location;
use crate::yaml::Node;

/// Kubernetes objects: `Certificate`, `Probe`, `ScrapeConfig`, `Ingress`,
/// `Gateway`.
pub fn kubernetes(doc: &Document, out: &mut Sink<Fact>) {
    for node in doc.yaml().unwrap_or_default() {
        kubernetes_objects(node, &mut |object, api_version, kind| {
            let group = api_version.split('/').next().unwrap_or_default();
            match (group, kind.as_str()) {
                ("cert-manager.io", "Certificate") => certificate(doc, object, out),
                ("monitoring.coreos.com", "Probe") => probe(doc, object, out),
                ("monitoring.coreos.com", "ScrapeConfig") => {
                    let spec = object.get("spec");
                    let path = spec.and_then(|s| s.scalar_text_at("metricsPath"));
                    if path.as_deref() == Some("/probe") {
                        let configs = spec.and_then(|s| s.get("staticConfigs"));
                        let module = spec.and_then(|s| s.path(&["params", "module"]));
                        let name = object_name(object);
                        scrape_prober(doc, object, name, configs, module, out);
                    }
                }
                ("monitoring.coreos.com", "ServiceMonitor") => service_monitor(doc, object, out),
                ("networking.k8s.io", "Ingress") => ingress(doc, object, out),
                ("gateway.networking.k8s.io", "Gateway") => gateway(doc, object, out),
                _ => {}
            }
        });
    }
}

fn object_name(object: &Node) -> String {
    let name = object
        .path(&["metadata", "name"])
        .and_then(Node::scalar_text);
    let namespace = object
        .path(&["metadata", "namespace"])
        .and_then(Node::scalar_text);
    match (namespace, name) {
        (Some(ns), Some(name)) => format!("{ns}/{name}"),
        (None, Some(name)) => name,
        (_, None) => "(unnamed)".into(),
    }
}

fn yaml_text(node: &Node) -> String {
    node.to_json().to_string()
}

/// Which exporter a prober config talks to: ssl_exporter listens on 9219
/// and is usually named so; anything else probing is the blackbox
/// exporter.
fn prober_family(config: &str) -> Family {
    let config = config.to_ascii_lowercase();
    if config.contains("ssl_exporter")
        || config.contains("ssl-exporter")
        || config.contains(":9219")
    {
        Family::SslExporter
    } else {
        Family::Blackbox
    }
}

fn certificate(doc: &Document, object: &Node, out: &mut Sink<Fact>) {
    let spec = object.get("spec");
    let at = |key: &str| spec.and_then(|s| s.scalar_text_at(key));
    let mut dns_names = strings(spec.and_then(|s| s.get("dnsNames")));
    if let Some(cn) = at("commonName")
        && !dns_names.contains(&cn)
    {
        dns_names.push(cn);
    }
    let location = Location::at(&doc.path, object.pos);
    let name = object
        .path(&["metadata", "name"])
        .and_then(Node::scalar_text)
        .unwrap_or_default();
    for host in &dns_names {
        out.push(Fact::Source(HostSource {
            kind: SourceKind::Certificate,
            name: object_name(object),
            host: host.to_ascii_lowercase(),
            port: None,
            // cert-manager's metrics, and x509-certificate-exporter
            // watching the secret it writes.
            families: vec![Family::CertManager, Family::X509Exporter],
            monitor: None,
            location: location.clone(),
        }));
    }
    out.push(Fact::Certificate(CertManagerCertificate {
        name,
        namespace: object
            .path(&["metadata", "namespace"])
            .and_then(Node::scalar_text),
        dns_names,
        duration: at("duration"),
        renew_before: at("renewBefore"),
        renew_before_percentage: at("renewBeforePercentage"),
        renewal_policy: spec
            .and_then(|s| s.path(&["renewal", "policy"]))
            .and_then(Node::scalar_text),
        location,
    }));
}

/// A `Probe`: static targets through a prober.
fn probe(doc: &Document, object: &Node, out: &mut Sink<Fact>) {
    let spec = object.get("spec");
    let targets = strings(spec.and_then(|s| s.path(&["targets", "staticConfig", "static"])));
    let family = prober_family(
        &spec
            .and_then(|s| s.get("prober"))
            .map(yaml_text)
            .unwrap_or_default(),
    );
    let module = spec
        .and_then(|s| s.scalar_text_at("module"))
        .unwrap_or_default();
    let prober = Prober {
        kind: SourceKind::Probe,
        name: object_name(object),
        family,
        module,
    };
    prober.found(doc, object, targets, out);
}

/// A prober setup: what it is, whose exporter, and the module it asks for.
struct Prober {
    kind: SourceKind,
    name: String,
    family: Family,
    /// The blackbox module (`http_2xx`, `tls_connect`, `icmp`); empty when
    /// not said.
    module: String,
}

impl Prober {
    /// Whether probing `target` this way handshakes TLS: ssl_exporter
    /// always does; the blackbox exporter does for `https://` URLs and TLS
    /// modules, not for ICMP, DNS or plain TCP and HTTP.
    fn handshakes(&self, target: &str) -> bool {
        if self.family != Family::Blackbox || target.starts_with("https://") {
            return true;
        }
        let module = self.module.to_ascii_lowercase();
        ["tls", "ssl", "https"].iter().any(|m| module.contains(m))
    }

    /// A source per target it handshakes with, and the setup itself (for
    /// the blackbox `probe_success` blind spot).
    fn found(self, doc: &Document, node: &Node, targets: Vec<String>, out: &mut Sink<Fact>) {
        let location = Location::at(&doc.path, node.pos);
        if self.family == Family::Blackbox {
            out.push(Fact::Blackbox(RuleRef {
                name: format!("{} {}", self.kind.as_str(), self.name),
                location: location.clone(),
            }));
        }
        for target in targets.iter().filter(|t| self.handshakes(t)) {
            if let Some((host, port)) = host_of(target) {
                out.push(Fact::Source(HostSource {
                    kind: self.kind.clone(),
                    name: self.name.clone(),
                    host,
                    port,
                    families: vec![self.family],
                    monitor: None,
                    location: location.clone(),
                }));
            }
        }
    }
}

/// The host of a probe target (a URL or `host[:port][/path]`) and its port
/// when it says or its scheme implies one.
pub fn host_of(target: &str) -> Option<(String, Option<u16>)> {
    let target = target.trim();
    let (host, port) = match url::Url::parse(target) {
        Ok(url) if url.has_host() => (url.host_str()?.to_string(), url.port_or_known_default()),
        _ => {
            let authority = target.split('/').next()?;
            match authority.rsplit_once(':') {
                Some((host, port))
                    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    (host.to_string(), Some(port.parse().ok()?))
                }
                _ => (authority.to_string(), None),
            }
        }
    };
    let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
    (!host.is_empty() && !host.contains(['{', '$', ' ', '@'])).then_some((host, port))
}

/// A `ServiceMonitor` scraping an exporter's `/probe` (the blackbox chart's
/// way): each endpoint's `params.target` is probed.
fn service_monitor(doc: &Document, object: &Node, out: &mut Sink<Fact>) {
    let endpoints = object
        .path(&["spec", "endpoints"])
        .and_then(Node::as_seq)
        .unwrap_or_default();
    let probing: Vec<&Node> = endpoints
        .iter()
        .filter(|e| e.scalar_text_at("path").as_deref() == Some("/probe"))
        .collect();
    if probing.is_empty() {
        return;
    }
    // Which exporter: once per object, not once per endpoint.
    let family = prober_family(&yaml_text(object));
    let name = object_name(object);
    for endpoint in probing {
        let prober = Prober {
            kind: SourceKind::ServiceMonitor,
            name: name.clone(),
            family,
            module: endpoint
                .path(&["params", "module"])
                .map(yaml_text)
                .unwrap_or_default(),
        };
        let targets = strings(endpoint.path(&["params", "target"]));
        prober.found(doc, endpoint, targets, out);
    }
}

/// The hosts a Datadog `tls.days_left` monitor filters on
/// (`{server:api.example.com}`): it watches them.
pub fn datadog_hosts(rule: &crate::document::rules::RuleExpr, out: &mut Sink<Fact>) {
    if !rule.expr.contains("tls.days_left") {
        return;
    }
    // `{server:a,env:prod}`, `{server:a OR server:b}`.
    let filters = rule
        .expr
        .split(['{', '}', ',', ' ', '(', ')'])
        .map(str::trim);
    for filter in filters {
        if let Some((host, port)) = filter.strip_prefix("server:").and_then(host_of) {
            out.push(Fact::Source(HostSource {
                kind: SourceKind::DatadogMonitor,
                name: rule.name.clone(),
                host,
                port,
                families: vec![Family::Datadog],
                monitor: Some(rule.name.clone()),
                location: rule.location.clone(),
            }));
        }
    }
}

fn cert_manager_annotated(object: &Node) -> bool {
    object
        .path(&["metadata", "annotations"])
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .any(|(k, _)| k.name.starts_with("cert-manager.io/"))
}

/// TLS served from a Kubernetes secret: watched by x509-certificate-exporter
/// and by the proxy serving it (Traefik, Envoy), and by cert-manager when
/// cert-manager issues it.
fn secret_families(object: &Node) -> Vec<Family> {
    let mut families = vec![Family::X509Exporter, Family::Traefik, Family::Envoy];
    if cert_manager_annotated(object) {
        families.insert(0, Family::CertManager);
    }
    families
}

fn ingress(doc: &Document, object: &Node, out: &mut Sink<Fact>) {
    for tls in object
        .path(&["spec", "tls"])
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        for host in strings(tls.get("hosts")) {
            out.push(Fact::Source(HostSource {
                kind: SourceKind::Ingress,
                name: object_name(object),
                host: host.to_ascii_lowercase(),
                port: Some(443),
                families: secret_families(object),
                monitor: None,
                location: Location::at(&doc.path, tls.pos),
            }));
        }
    }
}

fn gateway(doc: &Document, object: &Node, out: &mut Sink<Fact>) {
    let listeners = object
        .path(&["spec", "listeners"])
        .and_then(Node::as_seq)
        .unwrap_or_default();
    for listener in listeners {
        let protocol = listener.scalar_text_at("protocol").unwrap_or_default();
        let Some(host) = listener.scalar_text_at("hostname") else {
            continue;
        };
        if matches!(protocol.as_str(), "HTTPS" | "TLS") {
            out.push(Fact::Source(HostSource {
                kind: SourceKind::Gateway,
                name: object_name(object),
                host: host.to_ascii_lowercase(),
                port: listener.scalar_text_at("port").and_then(|p| p.parse().ok()),
                families: secret_families(object),
                monitor: None,
                location: Location::at(&doc.path, listener.pos),
            }));
        }
    }
}

/// A scrape job that probes through an exporter (a Prometheus config's
/// `scrape_configs` entry or a `ScrapeConfig` object, which spell the same
/// keys differently): its static targets, through whichever exporter the
/// job names.
fn scrape_prober(
    doc: &Document,
    job: &Node,
    name: String,
    static_configs: Option<&Node>,
    module: Option<&Node>,
    out: &mut Sink<Fact>,
) {
    let targets = static_configs
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .flat_map(|c| strings(c.get("targets")))
        .collect();
    let prober = Prober {
        kind: SourceKind::ScrapeConfig,
        name,
        family: prober_family(&yaml_text(job)),
        module: module.map(yaml_text).unwrap_or_default(),
    };
    prober.found(doc, job, targets, out);
}

/// A Prometheus server config: `scrape_configs` that probe through an
/// exporter (`metrics_path: /probe`).
pub fn prometheus_config(doc: &Document, out: &mut Sink<Fact>) {
    for node in doc.yaml().unwrap_or_default() {
        for job in node
            .get("scrape_configs")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            if job.scalar_text_at("metrics_path").as_deref() != Some("/probe") {
                continue;
            }
            let name = job.scalar_text_at("job_name").unwrap_or_default();
            let configs = job.get("static_configs");
            let module = job.path(&["params", "module"]);
            scrape_prober(doc, job, name, configs, module, out);
        }
    }
}

/// `resource "datadog_synthetics_test"` with `subtype = "ssl"`: a host, and
/// a monitor of its own (Datadog alerts when its assertions fail).
pub fn terraform(doc: &Document, out: &mut Sink<Fact>) {
    let Ok(hcl) = doc.hcl() else {
        return;
    };
    for block in hcl.body.blocks() {
        if block.ident.as_str() != "resource"
            || block_label(block, 0).as_deref() != Some("datadog_synthetics_test")
            || string_attr(doc, &block.body, "subtype").as_deref() != Some("ssl")
        {
            continue;
        }
        let resource = block_label(block, 1).unwrap_or_default();
        let name = string_attr(doc, &block.body, "name").unwrap_or_else(|| resource.clone());
        let location = Location::at(&doc.path, hcl.pos(block.span().map_or(0, |s| s.start)));
        let request = blocks(&block.body, "request_definition").next();
        let host = request
            .and_then(|r| string_attr(doc, &r.body, "host"))
            .and_then(|h| host_of(&h));
        let port = request
            .and_then(|r| string_attr(doc, &r.body, "port")?.parse().ok())
            .unwrap_or(443);
        // `assertion { type = "certificate" operator = "isInMoreThan" target = 30 }`
        let threshold_days = blocks(&block.body, "assertion")
            .filter(|a| string_attr(doc, &a.body, "type").as_deref() == Some("certificate"))
            .find_map(|a| string_attr(doc, &a.body, "target")?.parse::<f64>().ok());
        if let Some((host, _)) = host {
            out.push(Fact::Source(HostSource {
                kind: SourceKind::DatadogSslTest,
                name: format!("datadog_synthetics_test.{resource}"),
                host,
                port: Some(port),
                families: vec![Family::Datadog],
                monitor: Some(name.clone()),
                location: location.clone(),
            }));
        }
        out.push(Fact::Monitor(ExpiryMonitor {
            name,
            kind: crate::document::rules::RuleKind::Alert,
            engine: None,
            family: Family::Datadog,
            metric: "Datadog SSL test".into(),
            source_metric: "Datadog SSL test".into(),
            threshold_days,
            warns_ahead: threshold_days.is_none_or(|d| d > 0.0),
            location,
        }));
    }
}

fn blocks<'b>(body: &'b Body, ident: &'b str) -> impl Iterator<Item = &'b Block> {
    body.blocks().filter(move |b| b.ident.as_str() == ident)
}

/// An attribute's value as text: a string, a number, or the source of
/// anything else (interpolations kept).
fn string_attr(doc: &Document, body: &Body, name: &str) -> Option<String> {
    let attr = body.get_attribute(name)?;
    Some(match &attr.value {
        Expression::String(s) => s.as_str().to_string(),
        Expression::Number(n) => n.to_string(),
        other => doc.text[other.span()?].trim_matches('"').to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_targets() {
        let hp = |t: &str| host_of(t).map(|(h, p)| format!("{h} {p:?}"));
        assert_eq!(
            hp("https://API.example.com/healthz").as_deref(),
            Some("api.example.com Some(443)")
        );
        assert_eq!(
            hp("example.com:443").as_deref(),
            Some("example.com Some(443)")
        );
        assert_eq!(
            hp("api.example.com:8443/healthz").as_deref(),
            Some("api.example.com Some(8443)")
        );
        assert_eq!(hp("example.com").as_deref(), Some("example.com None"));
        assert_eq!(hp("[::1]:443").as_deref(), Some("::1 Some(443)"));
        assert_eq!(host_of("https://${var.host}/"), None);
        assert_eq!(host_of(""), None);
    }
}
