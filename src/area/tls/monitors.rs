//! Which rules watch certificate expiry: the metric families each exporter
//! publishes, series recorded from them, and the threshold in days read
//! from the usual expression shapes.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::section::{ExpiryMonitor, Family, RuleRef};
use crate::document::rules::{RuleExpr, RuleKind};

/// An expiry metric: its family, and how many seconds one unit of the
/// expression `metric - time()` (or the metric itself) is.
struct Metric {
    name: &'static str,
    family: Family,
    /// Seconds per unit of the value compared (`tls.days_left`: a day).
    unit: f64,
    /// A 0/1 state (expired, not ready): no threshold to read.
    state: bool,
}

const fn metric(name: &'static str, family: Family, unit: f64, state: bool) -> Metric {
    Metric {
        name,
        family,
        unit,
        state,
    }
}

const DAY: f64 = 86_400.0;

static METRICS: &[Metric] = &[
    metric(
        "probe_ssl_earliest_cert_expiry",
        Family::Blackbox,
        1.0,
        false,
    ),
    metric(
        "probe_ssl_last_chain_expiry_timestamp_seconds",
        Family::Blackbox,
        1.0,
        false,
    ),
    metric(
        "certmanager_certificate_expiration_timestamp_seconds",
        Family::CertManager,
        1.0,
        false,
    ),
    metric(
        "certmanager_certificate_not_after_timestamp_seconds",
        Family::CertManager,
        1.0,
        false,
    ),
    metric(
        "certmanager_certificate_ready_status",
        Family::CertManager,
        1.0,
        true,
    ),
    metric("x509_cert_not_after", Family::X509Exporter, 1.0, false),
    metric(
        "x509_cert_expires_in_seconds",
        Family::X509Exporter,
        1.0,
        false,
    ),
    metric("x509_cert_expired", Family::X509Exporter, 1.0, true),
    metric("ssl_cert_not_after", Family::SslExporter, 1.0, false),
    metric(
        "ssl_verified_cert_not_after",
        Family::SslExporter,
        1.0,
        false,
    ),
    metric("tls.days_left", Family::Datadog, DAY, false),
];

pub const EARLIEST_CHAIN: &str = "probe_ssl_earliest_cert_expiry";
pub const LAST_CHAIN: &str = "probe_ssl_last_chain_expiry_timestamp_seconds";
const PROBE_SUCCESS: &str = "probe_success";

/// Whether a rule is worth keeping for this area: it names an expiry
/// metric or `probe_success`, or reads a recorded series (an identifier
/// with a colon) that may carry one.
pub fn relevant(rule: &RuleExpr) -> bool {
    METRICS.iter().any(|m| mentions(&rule.expr, m.name))
        || mentions(&rule.expr, PROBE_SUCCESS)
        || (rule.kind == RuleKind::Alert && reads_recorded_series(&rule.expr))
}

fn reads_recorded_series(expr: &str) -> bool {
    static RECORDED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*:[A-Za-z0-9_:]*[A-Za-z0-9_]").unwrap());
    // Datadog queries are `aggregation(window):metric{...}`, never recorded.
    !expr.contains("):") && RECORDED.is_match(expr)
}

/// Every occurrence of `name` in `expr` as a whole identifier.
fn positions(expr: &str, name: &str) -> Vec<usize> {
    // PromQL names may hold colons (recorded series); Datadog's hold dots
    // and sit between colons (`min:tls.days_left{...}`).
    let datadog = name.contains('.');
    let ident =
        |c: char| c.is_ascii_alphanumeric() || c == '_' || c == if datadog { '.' } else { ':' };
    expr.match_indices(name)
        .filter(|(at, _)| {
            let before = expr[..*at].chars().next_back();
            let after = expr[at + name.len()..].chars().next();
            !before.is_some_and(ident) && !after.is_some_and(ident)
        })
        .map(|(at, _)| at)
        .collect()
}

fn mentions(expr: &str, name: &str) -> bool {
    !positions(expr, name).is_empty()
}

/// A series whose value is an expiry: an exporter's metric or one
/// recorded from it.
#[derive(Clone)]
struct Series {
    family: Family,
    /// Seconds per unit of its value.
    unit: f64,
    state: bool,
    /// The exporter metric underneath.
    root: &'static str,
}

/// The monitors among `rules`, and the alerts on `probe_success`.
pub fn classify(rules: &[RuleExpr]) -> (Vec<ExpiryMonitor>, Vec<RuleRef>) {
    let mut series: BTreeMap<String, Series> = METRICS
        .iter()
        .map(|m| {
            let s = Series {
                family: m.family,
                unit: m.unit,
                state: m.state,
                root: m.name,
            };
            (m.name.to_string(), s)
        })
        .collect();
    // Recorded series carry their source's family; a chain of recordings is
    // followed a few levels, as rule files write them.
    for _ in 0..4 {
        let mut grew = false;
        for rule in rules.iter().filter(|r| r.kind == RuleKind::Record) {
            if series.contains_key(&rule.name) {
                continue;
            }
            if let Some((_, from)) = read_series(&rule.expr, &series) {
                let divisor = lhs_divisor(&rule.expr, rule.expr.len());
                let recorded = Series {
                    unit: from.unit * divisor,
                    ..from
                };
                series.insert(rule.name.clone(), recorded);
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    let mut monitors = Vec::new();
    let mut probe_success = Vec::new();
    for rule in rules {
        if rule.kind == RuleKind::Alert && mentions(&rule.expr, PROBE_SUCCESS) {
            probe_success.push(RuleRef {
                name: rule.name.clone(),
                location: rule.location.clone(),
            });
        }
        let Some((name, s)) = read_series(&rule.expr, &series) else {
            continue;
        };
        let threshold_days = if s.state {
            None
        } else {
            threshold_days(&rule.expr, s.unit)
        };
        monitors.push(ExpiryMonitor {
            name: rule.name.clone(),
            kind: rule.kind,
            engine: Some(rule.engine),
            family: s.family,
            metric: if name == s.root {
                name
            } else {
                format!("{name} (recorded from {})", s.root)
            },
            threshold_days: match rule.kind {
                RuleKind::Alert => threshold_days,
                RuleKind::Record => None,
            },
            location: rule.location.clone(),
        });
    }
    (monitors, probe_success)
}

/// The first expiry series `expr` reads, by position.
fn read_series(expr: &str, series: &BTreeMap<String, Series>) -> Option<(String, Series)> {
    series
        .iter()
        .filter_map(|(name, s)| Some((*positions(expr, name).first()?, name, s)))
        .min_by_key(|(at, _, _)| *at)
        .map(|(_, name, s)| (name.clone(), s.clone()))
}

/// A product of numbers (`86400 * 14`, `(24*3600)`, `7`).
const PRODUCT: &str = r"\(?\s*[0-9][0-9_.eE+]*(?:\s*\*\s*[0-9][0-9_.eE+]*)*\s*\)?";

fn product(text: &str) -> Option<f64> {
    text.trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split('*')
        .map(|n| n.trim().replace('_', "").parse::<f64>().ok())
        .product()
}

/// Everything `expr[..end]` is divided by: `/ 86400`, `/ (24 * 3600)`,
/// `/ 3600 / 24`.
fn lhs_divisor(expr: &str, end: usize) -> f64 {
    static DIVIDE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(&format!(r"/\s*({PRODUCT})")).unwrap());
    DIVIDE
        .captures_iter(&expr[..end])
        .filter_map(|c| product(c.get(1)?.as_str()))
        .filter(|d| *d > 0.0)
        .product()
}

/// Days before expiry an alert fires: `LHS < RHS` with RHS a product of
/// numbers, in units of `unit` seconds times whatever LHS is divided by.
pub fn threshold_days(expr: &str, unit: f64) -> Option<f64> {
    static BELOW: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(&format!(
            r"<=?\s*(?:bool\s+)?({PRODUCT})(?:\s*$|\s*[^\s*/0-9.])"
        ))
        .unwrap()
    });
    let found = BELOW.captures(expr)?;
    let whole = found.get(0)?;
    let rhs = product(found.get(1)?.as_str())?;
    let days = rhs * lhs_divisor(expr, whole.start()) * unit / DAY;
    (days.is_finite() && (0.0..=3650.0).contains(&days)).then_some((days * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::rules::AlertEngine;
    use crate::evidence::Location;

    fn rule(kind: RuleKind, name: &str, expr: &str) -> RuleExpr {
        RuleExpr {
            kind,
            name: name.into(),
            expr: expr.into(),
            location: Location::new("rules.yaml", 1, 1),
            engine: AlertEngine::PrometheusRules,
        }
    }

    #[test]
    fn thresholds_in_the_usual_shapes() {
        let cases = [
            ("probe_ssl_earliest_cert_expiry - time() < 86400 * 14", 14.0),
            (
                "probe_ssl_earliest_cert_expiry - time() < 14 * 24 * 3600",
                14.0,
            ),
            ("(probe_ssl_earliest_cert_expiry - time()) / 86400 < 7", 7.0),
            ("(x509_cert_not_after - time()) / 3600 / 24 <= 30", 30.0),
            ("x509_cert_expires_in_seconds < 604800", 7.0),
            ("(ssl_cert_not_after - time()) / (24 * 3600) < 28", 28.0),
            (
                "min by (instance) (probe_ssl_earliest_cert_expiry{job=\"bb\"} - time()) < 86400*20",
                20.0,
            ),
            ("avg(last_5m):min:tls.days_left{service:api} < 14", 14.0),
            ("probe_ssl_earliest_cert_expiry - time() < 0", 0.0),
        ];
        for (expr, days) in cases {
            let unit = if expr.contains("tls.days_left") {
                DAY
            } else {
                1.0
            };
            assert_eq!(threshold_days(expr, unit), Some(days), "{expr}");
        }
        // Not a threshold on the expiry: a count, a ratio, nothing to read.
        assert_eq!(
            threshold_days("probe_ssl_earliest_cert_expiry - time() > 0", 1.0),
            None
        );
        assert_eq!(threshold_days("x509_cert_expired == 1", 1.0), None);
    }

    #[test]
    fn recorded_series_carry_their_family_and_unit() {
        let rules = vec![
            rule(
                RuleKind::Record,
                "cert:days_left",
                "(certmanager_certificate_expiration_timestamp_seconds - time()) / 86400",
            ),
            rule(RuleKind::Alert, "CertSoon", "cert:days_left < 21"),
            rule(RuleKind::Alert, "Down", "probe_success == 0"),
            rule(RuleKind::Alert, "Other", "up == 0"),
        ];
        let (monitors, success) = classify(&rules);
        assert_eq!(monitors.len(), 2, "the recording and the alert");
        let alert = &monitors[1];
        assert_eq!(alert.family, Family::CertManager);
        assert_eq!(alert.threshold_days, Some(21.0));
        assert!(alert.metric.contains("recorded from certmanager"));
        assert_eq!(success.len(), 1);
        assert!(!relevant(&rules[3]));
        assert!(relevant(&rules[1]));
    }

    #[test]
    fn identifiers_match_whole() {
        assert!(!mentions(
            "probe_ssl_earliest_cert_expiry_total",
            "probe_ssl_earliest_cert_expiry"
        ));
        assert!(!mentions("my_probe_success", "probe_success"));
        assert!(mentions("avg(probe_success{job='x'})", "probe_success"));
        assert!(mentions(
            "min(last_5m):min:tls.days_left{a:b} < 14",
            "tls.days_left"
        ));
        assert!(!mentions("job:probe_success:rate5m", "probe_success"));
    }
}
