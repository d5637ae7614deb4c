//! Checks about certificates: what each endpoint serves (online), whether
//! the repository watches its expiry, and the monitoring setups known to
//! miss an expiry.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::Deserialize;

use super::monitors::{EARLIEST_CHAIN, LAST_CHAIN};
use super::section::{Endpoint, Family, HttpSeen, Tls, TlsSeen};
use crate::check::{Check, Context, NoParams, Outcome, Status};
use crate::document::rules::RuleKind;

/// What an endpoint check does with each endpoint: its verdict, or why
/// there is none.
fn per_endpoint(
    tls: &Tls,
    wants: impl Fn(&Endpoint) -> bool,
    what: &str,
    judge: impl Fn(&Endpoint) -> Outcome,
) -> Vec<Outcome> {
    // A URL that cannot be read is unknown whether or not the run is
    // online: it is known wrong now, not when someone passes --online.
    let (broken, usable): (Vec<&Endpoint>, Vec<&Endpoint>) =
        tls.endpoints.iter().partition(|e| e.url_error.is_some());
    let mut out: Vec<Outcome> = broken
        .into_iter()
        .map(|e| {
            let err = e.url_error.as_deref().unwrap_or_default();
            located(e, unknown(format!("`{}`: {err}", e.url)))
        })
        .collect();
    let usable: Vec<&Endpoint> = usable.into_iter().filter(|e| wants(e)).collect();
    if usable.is_empty() {
        if out.is_empty() {
            out.push(Outcome::skip(format!("no {what} endpoints declared")));
        }
        return out;
    }
    if !tls.online {
        out.push(Outcome::skip(format!(
            "{} {what} endpoint(s) declared; they are observed only with --online",
            usable.len()
        )));
        return out;
    }
    out.extend(usable.into_iter().map(|e| {
        let outcome = if !e.probe {
            Outcome::skip("`probe: false` in the manifest")
        } else {
            judge(e)
        };
        located(e, outcome)
    }));
    out
}

/// An outcome about endpoint `e`: named by it, at its declaration.
fn located(e: &Endpoint, outcome: Outcome) -> Outcome {
    let outcome = outcome.target(&e.name);
    match &e.location {
        Some(at) => outcome.at(at.clone()),
        None => outcome,
    }
}

fn unknown(reason: impl Into<String>) -> Outcome {
    Outcome::new(Status::Unknown, reason)
}

/// Why a missing alert may not be missing: rule files not read.
fn unread(tls: &Tls) -> String {
    let first = &tls.unread_rules[0];
    let more = match tls.unread_rules.len() {
        1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    format!(
        "{} at {}{more} does not parse before rendering, so what it alerts on is unknown (render the chart into a directory and run readygate there)",
        first.name, first.location
    )
}

/// The handshake seen, or the outcome that says why there is none.
fn handshake(e: &Endpoint) -> Result<&TlsSeen, Outcome> {
    if !e.tls {
        return Err(unknown(format!(
            "`{}` is plain http://: there is no certificate to observe (declare it as https:// if it serves TLS)",
            e.url
        )));
    }
    let observed = e.observed.as_ref();
    match (
        observed.and_then(|o| o.tls.as_ref()),
        observed.and_then(|o| o.tls_error.as_ref()),
    ) {
        (Some(seen), _) => Ok(seen),
        (None, Some(reason)) => Err(unknown(format!(
            "`{}` could not be observed: {reason}",
            e.url
        ))),
        (None, None) => Err(unknown(format!("`{}` was not observed", e.url))),
    }
}

fn answered(e: &Endpoint) -> Result<&HttpSeen, Outcome> {
    let observed = e.observed.as_ref();
    match (
        observed.and_then(|o| o.http.as_ref()),
        observed.and_then(|o| o.http_error.as_ref()),
    ) {
        (Some(seen), _) => Ok(seen),
        (None, Some(reason)) => Err(unknown(format!("`{}` did not answer: {reason}", e.url))),
        (None, None) => Err(unknown(format!("`{}` was not observed", e.url))),
    }
}

/// Whole days from the start of `today` (UTC) to `rfc3339`, rounded down.
fn days_left(rfc3339: &str, today: NaiveDate) -> Option<i64> {
    let at = DateTime::parse_from_rfc3339(rfc3339)
        .ok()?
        .with_timezone(&Utc);
    let start = today.and_hms_opt(0, 0, 0)?.and_utc();
    Some((at - start).num_seconds().div_euclid(86_400))
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ExpiryParams {
    /// Fail when the earliest certificate of the presented chain has fewer
    /// days left than this.
    #[schemars(range(min = 0, max = 3650))]
    pub min_days: u32,
    /// Whether an endpoint's `min_tls_days` replaces `min_days` for it.
    pub endpoint_min: bool,
}

impl Default for ExpiryParams {
    fn default() -> Self {
        Self {
            min_days: 21,
            endpoint_min: true,
        }
    }
}

pub struct CertificateExpiry;

impl Check for CertificateExpiry {
    type Section = Tls;
    type Params = ExpiryParams;

    fn id(&self) -> &'static str {
        "certificate-expiry"
    }
    fn summary(&self) -> &'static str {
        "Online: every probed TLS endpoint's certificate chain stays valid for more than `min_days` days (the earliest expiry in the chain counts; an endpoint's `min_tls_days` replaces the threshold when `endpoint_min`). An endpoint that could not be observed is unknown, never a failure."
    }
    fn run(&self, tls: &Tls, p: &ExpiryParams, ctx: &Context) -> Vec<Outcome> {
        per_endpoint(
            tls,
            |e| e.tls || e.url_error.is_some() || e.http,
            "TLS",
            |e| {
                let seen = match handshake(e) {
                    Ok(seen) => seen,
                    Err(outcome) => return outcome,
                };
                let min = match (p.endpoint_min, e.min_tls_days) {
                    (true, Some(own)) => own,
                    _ => p.min_days,
                };
                let Some(days) = days_left(&seen.earliest_not_after, ctx.today) else {
                    return unknown(format!(
                        "`{}`: unreadable expiry {}",
                        e.url, seen.earliest_not_after
                    ));
                };
                let whose = if seen.earliest_not_after == seen.not_after {
                    "its certificate".to_string()
                } else {
                    format!("`{}` in its chain", seen.earliest_subject)
                };
                let date = &seen.earliest_not_after[..10.min(seen.earliest_not_after.len())];
                if days < 0 {
                    Outcome::fail(format!("`{}`: {whose} expired on {date}", e.url))
                } else if days < i64::from(min) {
                    Outcome::fail(format!(
                        "`{}`: {whose} expires on {date}, {days} day(s) from now (under {min})",
                        e.url
                    ))
                } else {
                    Outcome::pass(format!("`{}`: valid until {date} ({days} days)", e.url))
                }
            },
        )
    }
}

pub struct CertificateTrusted;

impl Check for CertificateTrusted {
    type Section = Tls;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "certificate-trusted"
    }
    fn summary(&self) -> &'static str {
        "Online: every probed TLS endpoint presents a chain that verifies against the Mozilla roots (plus `--ca-file`) and a certificate whose names cover the host."
    }
    fn run(&self, tls: &Tls, _: &NoParams, _: &Context) -> Vec<Outcome> {
        per_endpoint(
            tls,
            |e| e.tls,
            "TLS",
            |e| {
                let seen = match handshake(e) {
                    Ok(seen) => seen,
                    Err(outcome) => return outcome,
                };
                let host = e.host.as_deref().unwrap_or_default();
                let mut wrong = Vec::new();
                if let Some(err) = &seen.chain_error {
                    wrong.push(format!("the chain does not verify: {err}"));
                }
                if !seen.hostname_matches {
                    let names = if seen.names.is_empty() {
                        "no DNS names".to_string()
                    } else {
                        seen.names.join(", ")
                    };
                    wrong.push(format!("the certificate is for {names}, not {host}"));
                }
                if wrong.is_empty() {
                    Outcome::pass(format!(
                        "`{}`: {} chain from {} verifies for {host}",
                        e.url, seen.protocol, seen.issuer
                    ))
                } else {
                    Outcome::fail(format!("`{}`: {}", e.url, wrong.join("; ")))
                }
            },
        )
    }
}

pub struct EndpointStatus;

impl Check for EndpointStatus {
    type Section = Tls;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "endpoint-status"
    }
    fn summary(&self) -> &'static str {
        "Online: every probed HTTP(S) endpoint answers its `expect_status` (default: any status below 400) after redirects."
    }
    fn run(&self, tls: &Tls, _: &NoParams, _: &Context) -> Vec<Outcome> {
        per_endpoint(
            tls,
            |e| e.http,
            "HTTP",
            |e| {
                let seen = match answered(e) {
                    Ok(seen) => seen,
                    Err(outcome) => return outcome,
                };
                let ok = match e.expect_status {
                    Some(want) => seen.status == want,
                    None => seen.status < 400,
                };
                let via = seen
                    .redirected_to
                    .as_ref()
                    .map(|to| format!(" (redirected to {to})"))
                    .unwrap_or_default();
                let hsts = if e.tls && !seen.hsts {
                    "; no Strict-Transport-Security header"
                } else {
                    ""
                };
                let want = e
                    .expect_status
                    .map_or_else(|| "below 400".to_string(), |s| s.to_string());
                Outcome::when(
                    ok,
                    format!(
                        "`{}` answered {}{via} in {} ms{hsts}",
                        e.url, seen.status, seen.latency_ms
                    ),
                    format!("`{}` answered {}{via}, expected {want}", e.url, seen.status),
                )
            },
        )
    }
}

pub struct ExpiryMonitored;

impl Check for ExpiryMonitored {
    type Section = Tls;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "expiry-monitored"
    }
    fn summary(&self) -> &'static str {
        "Every declared TLS endpoint's host is watched by something in the repository (a cert-manager Certificate, a blackbox or ssl_exporter Probe or scrape target, an Ingress or Gateway TLS host, a Datadog SSL test) and an expiry alert exists on that family's metric."
    }
    fn run(&self, tls: &Tls, _: &NoParams, _: &Context) -> Vec<Outcome> {
        let endpoints: Vec<&Endpoint> = tls
            .endpoints
            .iter()
            .filter(|e| e.tls || e.url_error.is_some())
            .collect();
        if endpoints.is_empty() {
            return vec![Outcome::skip("no https:// or host:port endpoints declared")];
        }
        endpoints
            .into_iter()
            .map(|e| {
                let host = e.host.as_deref().unwrap_or_default();
                let more = match e.more_sources {
                    0 => String::new(),
                    n => format!(" (and {n} more source(s) naming it)"),
                };
                let outcome = match e.covered_by.first() {
                    _ if e.url_error.is_some() => unknown(format!(
                        "`{}`: {}",
                        e.url,
                        e.url_error.as_deref().unwrap_or_default()
                    )),
                    None if !tls.unread_rules.is_empty() => unknown(format!(
                        "{host}: no readable expiry alert covers it, and {}",
                        unread(tls)
                    )),
                    Some(c) => Outcome::pass(format!(
                        "{host}: {} watches it, and {} `{}` alerts on its expiry",
                        c.source,
                        c.family.as_str(),
                        c.monitor
                    ))
                    .related(c.source_location.clone())
                    .related(c.monitor_location.clone()),
                    None if !e.uncovered_sources.is_empty() => Outcome::fail(format!(
                        "{host}: named by {}{more}",
                        e.uncovered_sources.join("; ")
                    )),
                    None => Outcome::fail(format!(
                        "{host}: no Certificate, Probe, scrape target, Ingress, Gateway or Datadog SSL test in the repository names it, so no alert here watches its certificate"
                    )),
                };
                located(e, outcome)
            })
            .collect()
    }
}

pub struct LastChainMonitored;

impl Check for LastChainMonitored {
    type Section = Tls;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "last-chain-monitored"
    }
    fn summary(&self) -> &'static str {
        "Blackbox expiry alerts that warn ahead do not rely on `probe_ssl_earliest_cert_expiry` alone: it is the earliest expiry of any certificate the server sends, cross-signs clients no longer use included, so it fires for certificates nobody relies on and gets silenced; `probe_ssl_last_chain_expiry_timestamp_seconds` is the expiry of the chain verification built."
    }
    fn run(&self, tls: &Tls, _: &NoParams, ctx: &Context) -> Vec<Outcome> {
        let alerts = tls.monitors.iter().filter(|m| m.kind == RuleKind::Alert);
        // An alert at expiry (`< 0`, used with `insecure_skip_verify`, where
        // no chain is verified and the last-chain gauge is zero) has no
        // last-chain equivalent to suggest.
        let earliest: Vec<_> = alerts
            .clone()
            .filter(|m| m.warns_ahead && m.source_metric == EARLIEST_CHAIN)
            .collect();
        if earliest.is_empty() {
            return vec![Outcome::skip("no alert on probe_ssl_earliest_cert_expiry")];
        }
        if let Some(last) = alerts
            .filter(|m| ctx.production(&m.location))
            .find(|m| m.warns_ahead && m.source_metric == LAST_CHAIN)
        {
            return vec![
                Outcome::pass(format!("`{}` alerts on {LAST_CHAIN}", last.name))
                    .at(last.location.clone()),
            ];
        }
        earliest
            .into_iter()
            .map(|m| {
                Outcome::fail(format!(
                    "`{}` alerts on probe_ssl_earliest_cert_expiry only, and no alert reads {LAST_CHAIN}",
                    m.name
                ))
                .target(&m.name)
                .at(m.location.clone())
            })
            .collect()
    }
}

pub struct ProbeFailureAlerted;

impl Check for ProbeFailureAlerted {
    type Section = Tls;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "probe-failure-alerted"
    }
    fn summary(&self) -> &'static str {
        "Where the blackbox exporter probes (a Probe, a `/probe` scrape config, an alert on `probe_ssl_*`), an alert fires on `probe_success`: with certificate verification on, an expired certificate fails the handshake and the exporter reports no SSL metrics at all, only `probe_success 0`, so expiry alerts alone stay silent exactly when the certificate has expired."
    }
    fn run(&self, tls: &Tls, _: &NoParams, ctx: &Context) -> Vec<Outcome> {
        // Where the exporter probes: its probers, else the alerts that read
        // its metrics; production first, so an example's prober does not
        // stand for (and make a skip of) the service's own.
        let probers = tls.blackbox.iter().map(|b| (b.name.clone(), &b.location));
        let alerts = tls
            .monitors
            .iter()
            .filter(|m| m.family == Family::Blackbox && m.kind == RuleKind::Alert)
            .map(|m| (format!("expiry alert `{}`", m.name), &m.location));
        let mut setups: Vec<_> = probers.chain(alerts).collect();
        setups.sort_by_key(|(_, at)| !ctx.production(at));
        let Some((first, at)) = setups.first() else {
            return vec![Outcome::skip(
                "no blackbox exporter probing in the repository",
            )];
        };
        let more = match setups.len() {
            1 => String::new(),
            n => format!(" and {} more", n - 1),
        };
        let found = tls
            .probe_success_alerts
            .iter()
            .find(|a| ctx.production(&a.location));
        let outcome = match found {
            Some(alert) => {
                return vec![
                    Outcome::pass(format!("`{}` fires when a probe fails", alert.name))
                        .at(alert.location.clone()),
                ];
            }
            None if !tls.unread_rules.is_empty() => unknown(format!(
                "the blackbox exporter probes here ({first}{more}); no readable alert fires on probe_success, and {}",
                unread(tls)
            )),
            None => Outcome::fail(format!(
                "the blackbox exporter probes here ({first}{more}), but no alert fires when a probe fails (probe_success == 0)"
            )),
        };
        vec![outcome.at((*at).clone())]
    }
}

pub struct CertManagerRenewal;

/// cert-manager's defaults: 90 days, renewed with a third left.
const DEFAULT_DURATION_SECS: f64 = 2160.0 * 3600.0;

impl Check for CertManagerRenewal {
    type Section = Tls;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "cert-manager-renewal"
    }
    fn summary(&self) -> &'static str {
        "cert-manager Certificates renew themselves in time: renewal not disabled (`renewal.policy: Disabled`), `duration` and `renewBefore` positive Go durations and `renewBeforePercentage` 1 to 99 (else cert-manager rejects the Certificate), `renewBefore` shorter than `duration` (else cert-manager renews in a loop), and `duration` at least 24 hours."
    }
    fn run(&self, tls: &Tls, _: &NoParams, ctx: &Context) -> Vec<Outcome> {
        if tls.certificates.is_empty() {
            return vec![Outcome::skip("no cert-manager Certificates")];
        }
        let mut out = Vec::new();
        for c in &tls.certificates {
            let duration = c.duration.as_deref().map(go_duration);
            let renew = c.renew_before.as_deref().map(go_duration);
            let mut wrong = Vec::new();
            if c.renewal_policy.as_deref() == Some("Disabled") {
                wrong.push("renewal is disabled (`renewal.policy: Disabled`)".to_string());
            }
            let written = |v: &Option<String>| v.as_deref().unwrap_or_default().to_string();
            let lifetime = match duration {
                Some(Some(d)) => d,
                Some(None) => {
                    wrong.push(format!(
                        "`duration: {}` is not a positive Go duration (like 2160h); cert-manager rejects the Certificate",
                        written(&c.duration)
                    ));
                    DEFAULT_DURATION_SECS
                }
                None => DEFAULT_DURATION_SECS,
            };
            if lifetime < 86_400.0 {
                wrong.push(format!("`duration: {}` is under 24h", written(&c.duration)));
            }
            if c.renew_before.is_some() && c.renew_before_percentage.is_some() {
                wrong.push(
                    "both `renewBefore` and `renewBeforePercentage` are set; cert-manager rejects the Certificate".into(),
                );
            }
            match renew {
                Some(Some(before)) if before < 300.0 => wrong.push(format!(
                    "`renewBefore: {}` is under cert-manager's minimum of 5m; cert-manager rejects the Certificate",
                    written(&c.renew_before)
                )),
                Some(None) => wrong.push(format!(
                    "`renewBefore: {}` is not a positive Go duration (like 720h); cert-manager rejects the Certificate",
                    written(&c.renew_before)
                )),
                Some(Some(before)) if before >= lifetime => wrong.push(format!(
                    "`renewBefore: {}` is not shorter than the duration ({})",
                    written(&c.renew_before),
                    c.duration.as_deref().unwrap_or("2160h, the default")
                )),
                _ => {}
            }
            if let Some(p) = &c.renew_before_percentage
                && !p.parse::<u32>().is_ok_and(|p| (1..=99).contains(&p))
            {
                wrong.push(format!(
                    "`renewBeforePercentage: {p}` is not a whole number from 1 to 99; cert-manager rejects the Certificate"
                ));
            }
            if !wrong.is_empty() {
                out.push(
                    Outcome::fail(format!("Certificate `{}`: {}", c.name, wrong.join("; ")))
                        .target(&c.name)
                        .at(c.location.clone()),
                );
            }
        }
        let production = tls
            .certificates
            .iter()
            .filter(|c| ctx.production(&c.location))
            .count();
        let production_failed = out
            .iter()
            .any(|o| o.location.as_ref().is_some_and(|at| ctx.production(at)));
        if !production_failed {
            out.push(match production {
                0 => Outcome::skip("no cert-manager Certificates outside tests and examples"),
                n => Outcome::pass(format!("{n} cert-manager Certificate(s) renew in time")),
            });
        }
        out
    }
}

/// A Go duration (`2160h`, `2160h0m0s`, `90m`, `1h30m`) in seconds.
fn go_duration(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let text = text.trim();
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    // Go's time.Duration holds up to about 2 562 047 hours.
    (total.is_finite() && total > 0.0 && total < 9.2e9).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("2160h"), Some(2160.0 * 3600.0));
        assert_eq!(go_duration("2160h0m0s"), Some(2160.0 * 3600.0));
        assert_eq!(go_duration("1h30m"), Some(5400.0));
        assert_eq!(go_duration("+2160h"), Some(2160.0 * 3600.0));
        assert_eq!(go_duration("90d"), None);
        assert_eq!(go_duration("-1h"), None);
        assert_eq!(go_duration("1e400h"), None);
        assert_eq!(go_duration("0s"), None);
        assert_eq!(go_duration("3000000h"), None);
        assert_eq!(go_duration(""), None);
    }

    #[test]
    fn days_are_counted_from_the_evaluation_date() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(days_left("2026-12-08T12:00:00+00:00", today), Some(5));
        assert_eq!(days_left("2026-12-02T23:00:00+00:00", today), Some(-1));
    }
}
