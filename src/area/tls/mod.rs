//! TLS certificates: which expiries the repository monitors (alert rules of
//! every engine, read through the shared rule expressions; cert-manager,
//! blackbox, x509-certificate-exporter, ssl_exporter, Datadog), which hosts
//! those monitors cover, the known blind spots, and, with `--online`, what
//! each declared endpoint serves right now.

use crate::check::SectionCheck;
use crate::contract::{Area, Assembly};
use crate::document::rules::RuleExpr;
use crate::document::shared::{
    DATADOG_MONITOR, GRAFANA_ALERTING, HELM_TEMPLATE, KUBERNETES_MANIFEST, PROMETHEUS_CONFIG,
    PROMETHEUS_RULES, TERRAFORM,
};
use crate::document::{DocKind, Document, KindSpec, Sink};
use crate::evidence::Problem;
use crate::evidence::scope::Scope;
use crate::probe::{ProbeError, Probes};

mod checks;
mod collect;
mod endpoints;
mod monitors;
pub mod section;

pub use section::Tls;
use section::{CertManagerCertificate, ExpiryMonitor, HostSource, RuleRef};

#[derive(Debug)]
pub enum Fact {
    Rule(RuleExpr),
    Monitor(ExpiryMonitor),
    Certificate(CertManagerCertificate),
    Source(HostSource),
    /// A blackbox prober setup (a `Probe`, a `/probe` scrape config).
    Blackbox(RuleRef),
    /// Rules that could not be read (see [`Tls::unread_rules`]).
    Unread(RuleRef),
}

/// Why an endpoint URL (`--endpoint`) cannot be judged, if it cannot.
pub fn url_error(url: &str) -> Option<String> {
    endpoints::target(url).err()
}

/// YAML text without its `#` comments (a comment naming a metric is not a
/// rule reading it).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| {
            let cut = line
                .match_indices('#')
                .find(|(i, _)| *i == 0 || line[..*i].ends_with([' ', '\t']))
                .map_or(line.len(), |(i, _)| i);
            &line[..cut]
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub struct TlsArea;

impl Area for TlsArea {
    type Fact = Fact;
    type Section = Tls;

    fn name(&self) -> &'static str {
        "tls"
    }
    fn kinds(&self) -> &'static [KindSpec] {
        &[]
    }
    fn reads(&self) -> &'static [DocKind] {
        &[
            PROMETHEUS_RULES,
            HELM_TEMPLATE,
            GRAFANA_ALERTING,
            DATADOG_MONITOR,
            PROMETHEUS_CONFIG,
            KUBERNETES_MANIFEST,
            TERRAFORM,
        ]
    }
    fn collect(&self, doc: &Document, out: &mut Sink<Fact>) {
        for rule in doc.rules().iter().filter(|r| monitors::relevant(r)) {
            collect::datadog_hosts(rule, out);
            out.push(Fact::Rule(rule.clone()));
        }
        // A template that does not parse before rendering may hold the
        // very alert a check looks for: unknown, not absent.
        if doc.kind == HELM_TEMPLATE
            && doc.yaml().is_err()
            && let Some(name) = monitors::mentioned(&without_comments(&doc.text))
        {
            out.push(Fact::Unread(RuleRef {
                name: format!("a Helm template mentioning {name}"),
                location: crate::evidence::Location::file(&doc.path),
            }));
        }
        match doc.kind {
            // A Helm template that parses is objects like any manifest.
            KUBERNETES_MANIFEST | HELM_TEMPLATE => collect::kubernetes(doc, out),
            PROMETHEUS_CONFIG => collect::prometheus_config(doc, out),
            TERRAFORM => collect::terraform(doc, out),
            _ => {}
        }
    }
    fn assemble(&self, facts: Vec<Fact>, ctx: &Assembly, _: &mut Vec<Problem>) -> Tls {
        let mut tls = Tls::default();
        let mut rules = Vec::new();
        let mut blackbox = Vec::new();
        for fact in facts {
            match fact {
                Fact::Rule(r) => rules.push(r),
                Fact::Monitor(m) => tls.monitors.push(m),
                Fact::Certificate(c) => tls.certificates.push(c),
                Fact::Source(s) => tls.sources.push(s),
                Fact::Blackbox(b) => blackbox.push(b),
                Fact::Unread(u) => tls.unread_rules.push(u),
            }
        }
        // The walk is parallel; sort so output never depends on thread timing.
        rules.sort_by(|a, b| a.location.cmp(&b.location));
        let (monitors, probe_success) = monitors::classify(&rules);
        tls.monitors.extend(monitors);
        tls.monitors.sort_by(|a, b| a.location.cmp(&b.location));
        tls.probe_success_alerts = probe_success;
        blackbox.sort_by(|a, b| a.location.cmp(&b.location));
        tls.blackbox = blackbox;
        tls.certificates.sort_by(|a, b| a.location.cmp(&b.location));
        tls.unread_rules.sort_by(|a, b| a.location.cmp(&b.location));
        tls.sources
            .sort_by(|a, b| a.location.cmp(&b.location).then(a.host.cmp(&b.host)));

        // Coverage counts production evidence only: an example Ingress or a
        // test's alert watches nothing that serves users.
        let production =
            |at: &crate::evidence::Location| ctx.scopes.scope(&at.path) == Scope::Production;
        let sources: Vec<HostSource> = tls
            .sources
            .iter()
            .filter(|s| production(&s.location))
            .cloned()
            .collect();
        let alerting: Vec<ExpiryMonitor> = tls
            .monitors
            .iter()
            .filter(|m| m.warns_ahead && production(&m.location))
            .cloned()
            .collect();
        // A template that could not be read counts only where it would.
        tls.unread_rules.retain(|u| production(&u.location));
        let mut declared = Vec::new();
        if let Some(m) = ctx.manifest {
            for (i, e) in m.manifest.endpoints.iter().enumerate() {
                declared.push(endpoints::Declared {
                    name: e.name.clone(),
                    url: e.url.clone(),
                    location: m.endpoint_locations.get(i).cloned(),
                    probe: e.probe.unwrap_or(true),
                    expect_status: e.expect_status,
                    min_tls_days: e.min_tls_days,
                });
            }
        }
        for url in &ctx.inputs.endpoints {
            declared.push(endpoints::Declared {
                name: url.clone(),
                url: url.clone(),
                location: None,
                probe: true,
                expect_status: None,
                min_tls_days: None,
            });
        }
        let watchers = endpoints::Watchers::new(&sources, &alerting);
        tls.endpoints = declared
            .into_iter()
            .map(|d| endpoints::endpoint(d, &watchers))
            .collect();
        tls
    }
    fn probe(&self, tls: &mut Tls, probes: &Probes) -> Result<(), ProbeError> {
        endpoints::probe(tls, probes)
    }
    fn checks(&self) -> Vec<&'static dyn SectionCheck<Tls>> {
        vec![
            &checks::CertificateExpiry,
            &checks::CertificateTrusted,
            &checks::EndpointStatus,
            &checks::ExpiryMonitored,
            &checks::LastChainMonitored,
            &checks::ProbeFailureAlerted,
            &checks::CertManagerRenewal,
        ]
    }
}
