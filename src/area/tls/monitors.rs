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
    metric("traefik_tls_certs_not_after", Family::Traefik, 1.0, false),
    metric(
        "envoy_server_days_until_first_cert_expiring",
        Family::Envoy,
        DAY,
        false,
    ),
    metric("tls.days_left", Family::Datadog, DAY, false),
];

pub const EARLIEST_CHAIN: &str = "probe_ssl_earliest_cert_expiry";
pub const LAST_CHAIN: &str = "probe_ssl_last_chain_expiry_timestamp_seconds";
const PROBE_SUCCESS: &str = "probe_success";

/// Whether a rule is worth keeping for this area: every recording (a chain
/// of them may carry an expiry), and alerts that name an expiry metric or
/// `probe_success`, or read a series that may be recorded from one (an
/// identifier with a colon, or naming certificates).
pub fn relevant(rule: &RuleExpr) -> bool {
    static CERTISH: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)[a-z0-9_:]*(cert|ssl|tls|x509|expir)[a-z0-9_:]*").unwrap()
    });
    if rule.kind == RuleKind::Record {
        return true;
    }
    let text = masked(&rule.expr);
    mentioned(&text).is_some()
        || reads_recorded_series(&rule.expr, &text)
        || CERTISH.is_match(&text)
}

/// The first expiry metric (or `probe_success`) a text names.
pub fn mentioned(text: &str) -> Option<&'static str> {
    METRICS
        .iter()
        .map(|m| m.name)
        .chain([PROBE_SUCCESS])
        .find(|name| !positions(text, name).is_empty())
}

fn reads_recorded_series(expr: &str, text: &str) -> bool {
    static RECORDED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*:[A-Za-z0-9_:]*[A-Za-z0-9_]").unwrap());
    // Datadog queries are `aggregation(window):metric{...}`, never recorded.
    !expr.contains("):") && RECORDED.is_match(text)
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

/// `expr` with what is not expression blanked out, byte for byte (so
/// positions hold): `#` comments, quoted strings, and label matchers
/// (`{instance="https://x/2"}` holds no divisor and no comparison).
fn masked(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut braces = 0usize;
    let mut comment = false;
    let mut escaped = false;
    for c in expr.chars() {
        let keep = match (comment, quote) {
            (true, _) => {
                comment = c != '\n';
                c == '\n'
            }
            (false, Some(q)) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                false
            }
            (false, None) => match c {
                '"' | '\'' | '`' => {
                    quote = Some(c);
                    false
                }
                '#' => {
                    comment = true;
                    false
                }
                '{' => {
                    braces += 1;
                    false
                }
                '}' => {
                    braces = braces.saturating_sub(1);
                    false
                }
                _ => braces == 0,
            },
        };
        if keep {
            out.push(c);
        } else {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    }
    out
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

/// The monitors among `rules`, and the alerts that fire when a blackbox
/// probe fails.
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
            let text = masked(&rule.expr);
            if let Some((_, at, from)) = read_series(&text, &series) {
                let divisor = divisor(&text[at..]);
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
    let mut probe_failure = Vec::new();
    for rule in rules {
        let text = masked(&rule.expr);
        if rule.kind == RuleKind::Alert && fires_on_probe_failure(&text) {
            probe_failure.push(RuleRef {
                name: rule.name.clone(),
                location: rule.location.clone(),
            });
        }
        let Some((name, at, s)) = read_series(&text, &series) else {
            continue;
        };
        let threshold_days = match (rule.kind, s.state) {
            (RuleKind::Alert, true) => None,
            (RuleKind::Alert, false) => threshold_days(&text, at, s.unit),
            _ => None,
        };
        // A state (expired, not ready), `absent()`, or a threshold at zero
        // says so when the certificate has already expired: no warning.
        let absent = text[..at].trim_end().ends_with("absent(");
        let warns_ahead = rule.kind == RuleKind::Alert
            && !s.state
            && !absent
            && threshold_days.is_none_or(|d| d > 0.0);
        monitors.push(ExpiryMonitor {
            name: rule.name.clone(),
            kind: rule.kind,
            engine: Some(rule.engine),
            family: s.family,
            metric: name,
            source_metric: s.root.to_string(),
            threshold_days,
            warns_ahead,
            location: rule.location.clone(),
        });
    }
    (monitors, probe_failure)
}

/// The first expiry series a masked expression reads: its name, position
/// and what it is. Identifiers are looked up, not searched for, so a rule
/// costs its length however many series are known.
fn read_series(text: &str, series: &BTreeMap<String, Series>) -> Option<(String, usize, Series)> {
    static PROMQL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[A-Za-z_:][A-Za-z0-9_:]*").unwrap());
    static DATADOG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_.]*").unwrap());
    let promql = PROMQL.find_iter(text);
    let datadog = DATADOG.find_iter(text).filter(|m| m.as_str().contains('.'));
    promql
        .chain(datadog)
        .filter_map(|m| Some((m.start(), m.as_str(), series.get(m.as_str())?)))
        .min_by_key(|(at, _, _)| *at)
        .map(|(at, name, s)| (name.to_string(), at, s.clone()))
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

/// Everything a (masked) side of a comparison is divided by: `/ 86400`,
/// `/ (24 * 3600)`, `/ 3600 / 24`.
fn divisor(side: &str) -> f64 {
    static DIVIDE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(&format!(r"/\s*({PRODUCT})")).unwrap());
    DIVIDE
        .captures_iter(side)
        .filter_map(|c| product(c.get(1)?.as_str()))
        .filter(|d| *d > 0.0)
        .product()
}

/// A masked expression's clauses: the stretches between set operators
/// (`and`, `or`, `unless`), found once.
struct Clauses<'t> {
    text: &'t str,
    /// Each clause's start, end, and whether it is the alert's own
    /// condition (first, or after `or`) rather than a filter on it.
    spans: Vec<(usize, usize, bool)>,
}

impl<'t> Clauses<'t> {
    fn new(text: &'t str) -> Self {
        static SET_OP: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"\b(and|or|unless)\b").unwrap());
        let mut spans = Vec::new();
        let (mut start, mut own) = (0, true);
        for m in SET_OP.find_iter(text) {
            spans.push((start, m.start(), own));
            start = m.end();
            own = m.as_str() == "or";
        }
        spans.push((start, text.len(), own));
        Self { text, spans }
    }

    /// The clause holding byte `at`: its start, text and whether it is own.
    fn at(&self, at: usize) -> (usize, &'t str, bool) {
        let i = self.spans.partition_point(|(_, end, _)| *end < at);
        let (start, end, own) = self.spans[i.min(self.spans.len() - 1)];
        (start, &self.text[start..end], own)
    }
}

/// Days before expiry an alert fires, for the series at `at` of a masked
/// expression: `SERIES ... < N`, `N > SERIES ...` (`N` a product of
/// numbers in the series' unit, times whatever its side is divided by),
/// `SERIES < time() + N` (seconds), or `time() - SERIES > N` (time since
/// expiry: a negative threshold). Zero or negative: it fires only once
/// the certificate has expired. `< bool` always fires: no threshold.
pub fn threshold_days(text: &str, at: usize, unit: f64) -> Option<f64> {
    static COMPARE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(<=|>=|==|!=|<|>)").unwrap());
    static VALUE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(&format!(
            r"^\s*(bool\s+)?(?:(time\(\))\s*(?:([+-])\s*({PRODUCT}))?|(-)?\s*({PRODUCT}))\s*$"
        ))
        .unwrap()
    });
    let (offset, clause, _) = Clauses::new(text).at(at);
    let at = at - offset;
    let ops: Vec<_> = COMPARE.find_iter(clause).collect();
    let before = ops.iter().rev().find(|m| m.end() <= at);
    let after = ops.iter().find(|m| m.start() >= at);
    // `time() - SERIES`: how long ago it expired.
    let since = clause[before.map_or(0, |m| m.end())..at]
        .trim_end()
        .trim_end_matches('(')
        .trim_end()
        .ends_with("time() -");
    // A side of a comparison read as a value: (seconds-absolute?, value).
    let value = |side: &str| -> Option<Option<(bool, f64)>> {
        let v = VALUE.captures(side)?;
        if v.get(1).is_some() {
            return Some(None); // `bool`: always fires
        }
        if v.get(2).is_some() {
            let n = match v.get(4) {
                Some(p) => product(p.as_str())?,
                None => 0.0,
            };
            let sign = if v.get(3).is_some_and(|m| m.as_str() == "-") {
                -1.0
            } else {
                1.0
            };
            return Some(Some((true, sign * n)));
        }
        let n = product(v.get(6)?.as_str())?;
        Some(Some((false, if v.get(5).is_some() { -n } else { n })))
    };
    let days = |(absolute, n): (bool, f64), series_side: &str| {
        let scale = if absolute {
            1.0
        } else {
            unit * divisor(series_side)
        };
        n * scale / DAY
    };
    let next_op = |from: usize| {
        ops.iter()
            .find(|m| m.start() > from)
            .map_or(clause.len(), |m| m.start())
    };
    let found = match (after.map(|m| m.as_str()), before.map(|m| m.as_str())) {
        (Some("<" | "<="), _) if !since => {
            let op = after?;
            let from = before.map_or(0, |m| m.end());
            days(
                value(&clause[op.end()..next_op(op.start())])??,
                &clause[from..op.start()],
            )
        }
        (Some(">" | ">="), _) if since => {
            let op = after?;
            let (absolute, n) = value(&clause[op.end()..next_op(op.start())])??;
            -days(
                (absolute, n),
                &clause[before.map_or(0, |m| m.end())..op.start()],
            )
        }
        (_, Some(">" | ">=")) if !since => {
            let op = before?;
            let lhs_start = ops
                .iter()
                .rev()
                .find(|m| m.end() < op.start())
                .map_or(0, |m| m.end());
            let (absolute, n) = value(&clause[lhs_start..op.start()])??;
            let to = after.map_or(clause.len(), |m| m.start());
            days((absolute, n), &clause[op.end()..to])
        }
        _ => return None,
    };
    (found.is_finite() && (-3650.0..=3650.0).contains(&found))
        .then_some((found * 100.0).round() / 100.0 + 0.0)
}

/// Whether a masked alert expression fires when a probe fails: its own
/// condition (not an `and`/`unless` filter) compares `probe_success` down
/// (`== 0`, `< 1`, `!= 1`, an average `< 0.9`, a percentage `* 100 < 90`).
fn fires_on_probe_failure(text: &str) -> bool {
    static DOWN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^[\s()\[\]0-9a-z_,*]*?(==\s*0(\.0*)?\b|!=\s*1(\.0*)?\b|<=?\s*[0-9])").unwrap()
    });
    let clauses = Clauses::new(text);
    positions(text, PROBE_SUCCESS).into_iter().any(|at| {
        let (offset, clause, own) = clauses.at(at);
        let rest = &clause[at - offset + PROBE_SUCCESS.len()..];
        // A bounded look past the series: its aggregation and comparison.
        let rest = rest
            .char_indices()
            .nth(200)
            .map_or(rest, |(i, _)| &rest[..i]);
        own && DOWN.is_match(rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::rules::AlertEngine;
    use crate::evidence::Location;

    fn mentions(expr: &str, name: &str) -> bool {
        !positions(&masked(expr), name).is_empty()
    }

    fn rule(kind: RuleKind, name: &str, expr: &str) -> RuleExpr {
        RuleExpr {
            kind,
            name: name.into(),
            expr: expr.into(),
            location: Location::new("rules.yaml", 1, 1),
            engine: AlertEngine::PrometheusRules,
        }
    }

    /// The threshold of the first expiry series in `expr`.
    fn days(expr: &str) -> Option<f64> {
        let text = masked(expr);
        let m = METRICS.iter().find(|m| mentions(&text, m.name)).unwrap();
        threshold_days(&text, positions(&text, m.name)[0], m.unit)
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
            ("probe_ssl_earliest_cert_expiry < time() + 86400 * 21", 21.0),
            // After expiry: zero or negative.
            ("x509_cert_not_after < time()", 0.0),
            ("time() - x509_cert_not_after > 0", 0.0),
            ("(time() - x509_cert_not_after) > 86400", -1.0),
            ("x509_cert_not_after - time() < -86400", -1.0),
            ("86400 * 10 > probe_ssl_earliest_cert_expiry - time()", 10.0),
            (
                "3 <= round((x509_cert_not_after - time()) / 86400, 0.1) < 20",
                20.0,
            ),
            ("envoy_server_days_until_first_cert_expiring < 7", 7.0),
            // A comment, a label that looks like a division, a filter
            // clause with a comparison of its own: none of them count.
            (
                "# fire when < 30 days\nprobe_ssl_earliest_cert_expiry - time() < 86400*14",
                14.0,
            ),
            (
                "probe_ssl_earliest_cert_expiry{instance=\"https://10.0.0.1/2\"} - time() < 86400 * 14",
                14.0,
            ),
            (
                "probe_duration_seconds < 5 and probe_ssl_earliest_cert_expiry - time() < 86400*14",
                14.0,
            ),
            (
                "sum(rate(probe_http_duration_seconds[5m])) / 60 > 1 or probe_ssl_earliest_cert_expiry - time() < 86400 * 14",
                14.0,
            ),
        ];
        for (expr, want) in cases {
            assert_eq!(days(expr), Some(want), "{expr}");
        }
        // Not a threshold on the expiry: nothing to read.
        assert_eq!(days("probe_ssl_earliest_cert_expiry - time() > 0"), None);
        assert_eq!(
            days("x509_cert_not_after - time() < bool 86400 * 14"),
            None,
            "always fires"
        );
        assert_eq!(days("x509_cert_not_after - time() < some_threshold"), None);
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
        assert!(monitors[1].warns_ahead);
        let alert = &monitors[1];
        assert_eq!(alert.family, Family::CertManager);
        assert_eq!(alert.threshold_days, Some(21.0));
        assert_eq!(alert.metric, "cert:days_left");
        assert_eq!(
            alert.source_metric,
            "certmanager_certificate_expiration_timestamp_seconds"
        );
        assert_eq!(success.len(), 1);
        assert!(!relevant(&rules[3]));
        assert!(relevant(&rules[1]));
    }

    #[test]
    fn chains_of_recordings_without_colons() {
        let rules = vec![
            rule(
                RuleKind::Record,
                "cert_expiry_min",
                "min(x509_cert_not_after)",
            ),
            rule(
                RuleKind::Record,
                "ssl_days_left",
                "(cert_expiry_min - time()) / 86400",
            ),
            rule(RuleKind::Alert, "SslDaysLeft", "ssl_days_left < 9"),
        ];
        assert!(rules.iter().all(relevant));
        let (monitors, _) = classify(&rules);
        assert_eq!(monitors[2].threshold_days, Some(9.0));
        assert_eq!(monitors[2].family, Family::X509Exporter);
    }

    #[test]
    fn probe_failure_is_an_alert_that_fires_when_the_probe_fails() {
        let fires = |e: &str| fires_on_probe_failure(&masked(e));
        assert!(fires("probe_success == 0"));
        assert!(fires("probe_success{job=\"blackbox\"} == 0"));
        assert!(fires("avg_over_time(probe_success[5m]) < 0.9"));
        assert!(fires("max by (instance) (probe_success) != 1"));
        assert!(fires("up == 0 or probe_success == 0"));
        assert!(fires("sum(probe_success) by (instance) < 1"));
        assert!(fires("avg_over_time(probe_success[5m]) * 100 < 90"));
        // A filter that mutes the alert when the probe fails, or asks for
        // success: not an alert on failure.
        assert!(!fires(
            "probe_ssl_last_chain_expiry_timestamp_seconds - time() < 86400*14 and on(instance) probe_success == 1"
        ));
        assert!(!fires(
            "x - time() < 1 unless on(instance) probe_success == 0"
        ));
        assert!(!fires("probe_success == 1"));
    }

    #[test]
    fn absent_and_states_do_not_warn_ahead() {
        let rules = vec![
            rule(
                RuleKind::Alert,
                "Gone",
                "absent(probe_ssl_earliest_cert_expiry)",
            ),
            rule(RuleKind::Alert, "Expired", "x509_cert_expired == 1"),
            rule(
                RuleKind::Alert,
                "AtZero",
                "x509_cert_not_after - time() < 0",
            ),
            rule(
                RuleKind::Alert,
                "Relative",
                "x509_cert_not_after - time() < threshold",
            ),
        ];
        let (monitors, _) = classify(&rules);
        let ahead: Vec<bool> = monitors.iter().map(|m| m.warns_ahead).collect();
        assert_eq!(ahead, [false, false, false, true]);
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
