//! TLS certificates: what the repository monitors (expiry alerts, the
//! objects that say which hosts are watched) and, with `--online`, what each
//! declared endpoint serves.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::document::rules::{AlertEngine, RuleKind};
use crate::evidence::Location;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Tls {
    /// Alerting and recording rules that watch certificate expiry.
    pub monitors: Vec<ExpiryMonitor>,
    /// Alerting rules that fire when a blackbox probe fails (`probe_success
    /// == 0`): with verification on, an expired certificate shows only so.
    pub probe_success_alerts: Vec<RuleRef>,
    /// Blackbox exporter probing: `Probe` objects, `/probe` scrape configs
    /// and ServiceMonitors.
    pub blackbox: Vec<RuleRef>,
    /// Rule files that mention expiry metrics or `probe_success` but could
    /// not be read (Helm templates that do not parse before rendering):
    /// what they monitor is unknown, not absent.
    pub unread_rules: Vec<RuleRef>,
    /// cert-manager `Certificate` objects.
    pub certificates: Vec<CertManagerCertificate>,
    /// Hosts something in the repository watches or serves with TLS: probe
    /// targets, Ingress and Gateway TLS hosts, certificates, Datadog SSL
    /// tests.
    pub sources: Vec<HostSource>,
    /// Declared endpoints (manifest `endpoints:` and `--endpoint`), each
    /// with its coverage and, online, what it served.
    pub endpoints: Vec<Endpoint>,
    /// Whether endpoints were probed (`--online`).
    pub online: bool,
}

/// Who publishes an expiry metric: a monitor on one family covers the hosts
/// that family watches.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Prometheus blackbox exporter (`probe_ssl_*`).
    Blackbox,
    /// cert-manager's controller metrics (`certmanager_certificate_*`).
    CertManager,
    /// x509-certificate-exporter (`x509_cert_*`), which watches Kubernetes
    /// TLS secrets and files.
    X509Exporter,
    /// ribbybibby/ssl_exporter (`ssl_cert_not_after`, ...).
    SslExporter,
    /// Datadog: `tls.days_left` monitors and SSL synthetic tests.
    Datadog,
    /// Traefik's own metrics (`traefik_tls_certs_not_after`) for the
    /// certificates it serves.
    Traefik,
    /// Envoy's own metrics (`envoy_server_days_until_first_cert_expiring`)
    /// for the certificates it serves (Envoy Gateway, Istio, Contour).
    Envoy,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Blackbox => "blackbox exporter",
            Family::CertManager => "cert-manager",
            Family::X509Exporter => "x509-certificate-exporter",
            Family::SslExporter => "ssl_exporter",
            Family::Datadog => "Datadog",
            Family::Traefik => "Traefik",
            Family::Envoy => "Envoy",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExpiryMonitor {
    pub name: String,
    pub kind: RuleKind,
    /// `None` for a Datadog SSL synthetic test.
    pub engine: Option<AlertEngine>,
    pub family: Family,
    /// The series it reads: an expiry metric, or a series recorded from one.
    pub metric: String,
    /// The exporter's metric underneath (`metric` itself unless recorded).
    pub source_metric: String,
    /// Days before expiry it fires, read from the usual expression shapes
    /// (`... - time() < 86400 * 14`, `/ 86400 < 7`); absent when the shape
    /// is not one of them.
    pub threshold_days: Option<f64>,
    /// Whether it fires before the certificate expires (not a state like
    /// `x509_cert_expired`, not `absent()`, not a threshold at zero): only
    /// such an alert covers a host.
    pub warns_ahead: bool,
    pub location: Location,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RuleRef {
    pub name: String,
    pub location: Location,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CertManagerCertificate {
    pub name: String,
    pub namespace: Option<String>,
    pub dns_names: Vec<String>,
    /// `spec.duration` as written (cert-manager's default is 90 days).
    pub duration: Option<String>,
    pub renew_before: Option<String>,
    /// As written (cert-manager accepts 1 to 99).
    pub renew_before_percentage: Option<String>,
    /// `spec.renewal.policy` (`Disabled` turns renewal off).
    pub renewal_policy: Option<String>,
    pub location: Location,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A cert-manager `Certificate`'s DNS names.
    Certificate,
    /// A `Probe` object's static targets.
    Probe,
    /// A scrape config that probes through an exporter (`metrics_path:
    /// /probe`).
    ScrapeConfig,
    /// An Ingress `spec.tls[].hosts`.
    Ingress,
    /// A Gateway listener with TLS.
    Gateway,
    /// A `ServiceMonitor` endpoint scraping `/probe` with a `target`.
    ServiceMonitor,
    /// A Datadog SSL synthetic test (`datadog_synthetics_test`, `subtype =
    /// "ssl"`).
    DatadogSslTest,
    /// A Datadog `tls.days_left` monitor filtered on `server:HOST`.
    DatadogMonitor,
}

impl SourceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::Certificate => "cert-manager Certificate",
            SourceKind::Probe => "Probe",
            SourceKind::ScrapeConfig => "scrape config",
            SourceKind::Ingress => "Ingress",
            SourceKind::Gateway => "Gateway",
            SourceKind::ServiceMonitor => "ServiceMonitor",
            SourceKind::DatadogSslTest => "Datadog SSL test",
            SourceKind::DatadogMonitor => "Datadog monitor",
        }
    }
}

/// A host the repository watches or serves with TLS.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HostSource {
    pub kind: SourceKind,
    /// The object's or job's name.
    pub name: String,
    /// Lower-case, without port; may start with `*.`.
    pub host: String,
    /// The port probed or served, when it says; a certificate's names
    /// hold for any port.
    pub port: Option<u16>,
    /// Whose expiry metric covers it: any of these families' monitors.
    pub families: Vec<Family>,
    /// When the source is itself the watch (a Datadog monitor or SSL
    /// test): only that monitor covers the host.
    pub monitor: Option<String>,
    pub location: Location,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Endpoint {
    pub name: String,
    pub url: String,
    /// Where it is declared; absent for `--endpoint`.
    pub location: Option<Location>,
    /// The host and port a TLS handshake goes to; absent when the URL is
    /// not usable (see `url_error`) or plain `http://`.
    pub host: Option<String>,
    pub port: Option<u16>,
    /// Whether it serves TLS by its URL (`https://` or `host:port`).
    pub tls: bool,
    /// Whether it is an HTTP(S) URL (its status is checked).
    pub http: bool,
    pub url_error: Option<String>,
    /// The manifest's `probe: false` keeps it out of live checks.
    pub probe: bool,
    pub expect_status: Option<u16>,
    pub min_tls_days: Option<u32>,
    /// What in the repository watches its certificate's expiry.
    pub covered_by: Vec<Coverage>,
    /// Why it is not covered: the sources naming the host whose family has
    /// no expiry monitor (the first few).
    pub uncovered_sources: Vec<String>,
    /// Sources that name the host besides those listed in `covered_by` and
    /// `uncovered_sources`.
    pub more_sources: usize,
    /// Online: what it served.
    pub observed: Option<Observed>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Coverage {
    /// `Probe monitoring/api-probe`.
    pub source: String,
    pub source_location: Location,
    pub family: Family,
    /// The expiry monitor on that family's metric.
    pub monitor: String,
    pub monitor_location: Location,
}

/// One live observation of an endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Observed {
    /// The handshake, when the endpoint serves TLS and it completed.
    pub tls: Option<TlsSeen>,
    /// Why there is no handshake to show (timeout, refused, DNS, guard).
    pub tls_error: Option<String>,
    /// The answer, when it is an HTTP(S) URL and it answered.
    pub http: Option<HttpSeen>,
    /// Why there is no answer to show.
    pub http_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TlsSeen {
    pub protocol: String,
    /// The leaf's notAfter, RFC 3339.
    pub not_after: String,
    /// The earliest notAfter in the presented chain, RFC 3339, and whose.
    pub earliest_not_after: String,
    pub earliest_subject: String,
    pub subject: String,
    pub issuer: String,
    /// The leaf's DNS and IP names.
    pub names: Vec<String>,
    pub hostname_matches: bool,
    /// Why the chain does not verify against the roots (Mozilla's plus
    /// `--ca-file`); absent when it does.
    pub chain_error: Option<String>,
    /// Certificates presented.
    pub chain_length: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HttpSeen {
    pub status: u16,
    pub redirected_to: Option<String>,
    pub latency_ms: u64,
    pub hsts: bool,
}
