//! Checks about alerts and their runbooks. Each reports every alert that
//! falls short at the alert's own line, and one summary pass for the rest,
//! so ten thousand good alerts make one line, not ten thousand.

use globset::{Glob, GlobSet, GlobSetBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::section::{Alert, AlertEngine, Alerts, RunbookField, RunbookState};
use crate::check::{Check, Context, NoParams, Outcome, ParamsError, Status};

/// Which alerts page someone: a severity in `paging_severities`, a label in
/// `paging_labels` that is set, or a notification handle matching
/// `paging_handles` (Datadog).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Paging {
    /// Severity labels that page (compared case-insensitively): the
    /// conventions in use are covered by default (`critical`, `page`,
    /// `emergency`, `s0`-`s2`, `p0`-`p2`, `sev0`-`sev2`).
    paging_severities: Vec<String>,
    /// Labels whose presence routes to a pager (`pager: pagerduty`), unless
    /// set to `false`, `no`, `none` or empty.
    paging_labels: Vec<String>,
    /// Globs over Datadog @-handles that page (`@pagerduty*`).
    paging_handles: Vec<String>,
}

impl Default for Paging {
    fn default() -> Self {
        let severities = [
            "critical",
            "page",
            "paging",
            "emergency",
            "s0",
            "s1",
            "s2",
            "p0",
            "p1",
            "p2",
            "sev0",
            "sev1",
            "sev2",
            "sev-0",
            "sev-1",
            "sev-2",
        ];
        Self {
            paging_severities: severities.iter().map(|s| s.to_string()).collect(),
            paging_labels: ["pager", "page", "paging", "pagerduty", "opsgenie"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            paging_handles: vec![
                "@pagerduty*".into(),
                "@opsgenie*".into(),
                "@victorops*".into(),
                "@splunk-oncall*".into(),
            ],
        }
    }
}

impl Paging {
    fn matcher(&self) -> Result<Matcher, ParamsError> {
        let mut set = GlobSetBuilder::new();
        for h in &self.paging_handles {
            set.add(
                Glob::new(&h.to_lowercase())
                    .map_err(|e| ParamsError(format!("paging_handles: {e}")))?,
            );
        }
        let severities = self
            .paging_severities
            .iter()
            .map(|s| s.to_lowercase())
            .collect();
        Ok(Matcher {
            severities,
            labels: self.paging_labels.clone(),
            handles: set.build().map_err(|e| ParamsError(e.to_string()))?,
        })
    }
}

struct Matcher {
    severities: Vec<String>,
    labels: Vec<String>,
    handles: GlobSet,
}

impl Matcher {
    fn pages(&self, alert: &Alert) -> bool {
        let set = |v: &String| {
            !matches!(
                v.to_lowercase().as_str(),
                "" | "false" | "no" | "none" | "0"
            )
        };
        alert
            .severity
            .as_ref()
            .is_some_and(|s| self.severities.contains(&s.to_lowercase()))
            || self
                .labels
                .iter()
                .any(|l| alert.labels.get(l).is_some_and(set))
            || alert
                .notifies
                .iter()
                .any(|h| self.handles.is_match(h.to_lowercase()))
    }
}

/// Which alerts a check looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Every alert.
    #[default]
    All,
    /// Alerts that page someone.
    Paging,
    /// Alerts that only notify.
    NotPaging,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RunbookParams {
    /// Which alerts need a runbook.
    alerts: Scope,
    #[serde(flatten)]
    paging: Paging,
}

/// The alerts a scoped check looks at, or the skip when there are none.
fn in_scope<'a>(section: &'a Alerts, p: &RunbookParams) -> Result<Vec<&'a Alert>, Outcome> {
    let paging = p.paging.matcher().map_err(|e| Outcome::skip(e.0))?;
    let alerts: Vec<&Alert> = section
        .alerts
        .iter()
        .filter(|a| match p.alerts {
            Scope::All => true,
            Scope::Paging => paging.pages(a),
            Scope::NotPaging => !paging.pages(a),
        })
        .collect();
    if alerts.is_empty() {
        let what = match p.alerts {
            Scope::All => "no alerting rules",
            Scope::Paging => "no paging alerts",
            Scope::NotPaging => "no non-paging alerts",
        };
        return Err(Outcome::skip(what));
    }
    Ok(alerts)
}

/// A pass that counts external links as resolving says they were not
/// fetched, so green is not read as "checked".
fn with_unchecked_note(mut out: Vec<Outcome>, alerts: &[&Alert]) -> Vec<Outcome> {
    let unchecked = alerts
        .iter()
        .filter(|a| a.runbook.state == RunbookState::Unchecked)
        .count();
    if unchecked > 0
        && let Some(pass) = out.iter_mut().find(|o| o.status == Status::Pass)
    {
        pass.message.push_str(&format!(
            " ({unchecked} of them external links, not fetched: --online checks them)"
        ));
    }
    out
}

/// Per-alert shortfalls plus one pass for the alerts that are fine. The
/// pass counts production alerts only: shortfalls in tests and examples
/// become skips, so they must not swell its total either.
fn judge_each(
    alerts: &[&Alert],
    ctx: &Context,
    ok: &str,
    judge: impl Fn(&Alert) -> Option<Outcome>,
) -> Vec<Outcome> {
    let mut out: Vec<Outcome> = Vec::new();
    let (mut passed, mut counted) = (0, 0);
    for alert in alerts {
        let production = ctx.production(&alert.location);
        counted += usize::from(production);
        match judge(alert) {
            Some(o) => out.push(o.target(&alert.name).at(alert.location.clone())),
            None => passed += usize::from(production),
        }
    }
    if passed > 0 {
        out.push(Outcome::pass(format!("{passed} of {counted} alerts {ok}")));
    }
    out
}

pub struct AlertRunbook;

impl Check for AlertRunbook {
    type Section = Alerts;
    type Params = RunbookParams;

    fn id(&self) -> &'static str {
        "alert-runbook"
    }
    fn summary(&self) -> &'static str {
        "Each alert in scope has a runbook that resolves: an existing file (and heading) in this repository, or a URL that answers 2xx when fetched (--online). Templated, unreachable and sign-in-walled links are unknown, not failures."
    }
    fn validate(&self, p: &RunbookParams) -> Result<(), ParamsError> {
        p.paging.matcher().map(|_| ())
    }
    fn run(&self, alerts: &Alerts, p: &RunbookParams, ctx: &Context) -> Vec<Outcome> {
        let alerts = match in_scope(alerts, p) {
            Ok(a) => a,
            Err(skip) => return vec![skip],
        };
        with_unchecked_note(
            judge_each(
                &alerts,
                ctx,
                "have a runbook that resolves",
                runbook_outcome,
            ),
            &alerts,
        )
    }
}

/// `None` when the runbook is fine.
fn runbook_outcome(alert: &Alert) -> Option<Outcome> {
    let rb = &alert.runbook;
    let link = rb.target().unwrap_or_default();
    let detail = rb
        .detail
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    let (status, message) = match rb.state {
        RunbookState::Resolved | RunbookState::Ok | RunbookState::Unchecked => return None,
        RunbookState::Missing => (
            Status::Fail,
            format!("alert `{}` has no runbook{detail}", alert.name),
        ),
        RunbookState::FileMissing => (
            Status::Fail,
            format!("runbook `{link}` does not exist{detail}"),
        ),
        RunbookState::AnchorMissing => (
            Status::Fail,
            format!(
                "runbook `{link}`: {} has no heading `#{}` ({})",
                rb.path.as_deref().unwrap_or("the file"),
                rb.anchor.as_deref().unwrap_or_default(),
                rb.detail.as_deref().unwrap_or_default()
            ),
        ),
        RunbookState::Templated => (
            Status::Unknown,
            format!("runbook `{link}` is a template{detail}"),
        ),
        RunbookState::Http4xx => match rb.http_status {
            // Behind sign-in or rate limited: exists as far as we can tell.
            Some(401 | 403 | 407 | 429) => (
                Status::Unknown,
                format!(
                    "runbook `{link}` answered {}: cannot verify without access",
                    rb.http_status.unwrap_or_default()
                ),
            ),
            status => (
                Status::Fail,
                format!(
                    "runbook `{link}` answered {}",
                    status.map_or("4xx".into(), |s| s.to_string())
                ),
            ),
        },
        RunbookState::Http5xx => (
            Status::Unknown,
            format!(
                "runbook `{link}` answered {}: the server failed, so the page could not be checked",
                rb.http_status.unwrap_or(500)
            ),
        ),
        RunbookState::Unreachable => (
            Status::Unknown,
            format!("runbook `{link}` could not be fetched{detail}"),
        ),
    };
    let outcome = Outcome::new(status, message);
    // The link's own line: where a change that broke it is annotated.
    Some(match &rb.location {
        Some(link) if link.line != alert.location.line || link.path != alert.location.path => {
            outcome.related(link.clone())
        }
        _ => outcome,
    })
}

pub struct AlertRunbookAnnotation;

impl Check for AlertRunbookAnnotation {
    type Section = Alerts;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "alert-runbook-annotation"
    }
    fn summary(&self) -> &'static str {
        "Runbook links are annotations, not labels."
    }
    fn run(&self, alerts: &Alerts, _: &NoParams, ctx: &Context) -> Vec<Outcome> {
        let alerts = match in_scope(alerts, &RunbookParams::default()) {
            Ok(a) => a,
            Err(skip) => return vec![skip],
        };
        judge_each(&alerts, ctx, "keep runbooks out of labels", |a| {
            (a.runbook.field == Some(RunbookField::Label)).then(|| {
                Outcome::fail(format!(
                    "alert `{}` gives its runbook as the label `{}`; move it to `annotations`",
                    a.name,
                    a.runbook.key.as_deref().unwrap_or_default()
                ))
            })
        })
    }
}

pub struct AlertRunbookMentions;

impl Check for AlertRunbookMentions {
    type Section = Alerts;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "alert-runbook-mentions"
    }
    fn summary(&self) -> &'static str {
        "Each runbook that could be read (in this repository, or fetched with --online) mentions its alert by name in the page or the section its #anchor names."
    }
    fn run(&self, alerts: &Alerts, _: &NoParams, ctx: &Context) -> Vec<Outcome> {
        let read: Vec<&Alert> = alerts
            .alerts
            .iter()
            .filter(|a| a.runbook.mentions_alert.is_some())
            .collect();
        if read.is_empty() {
            return vec![Outcome::skip("no runbook pages were read")];
        }
        judge_each(&read, ctx, "have a runbook that names them", |a| {
            (a.runbook.mentions_alert == Some(false)).then(|| {
                let page = a
                    .runbook
                    .path
                    .as_deref()
                    .or(a.runbook.target())
                    .unwrap_or_default();
                let section = a
                    .runbook
                    .anchor
                    .as_deref()
                    .map(|x| format!(" under #{x}"))
                    .unwrap_or_default();
                Outcome::fail(format!(
                    "runbook {page}{section} never mentions `{}`",
                    a.name
                ))
            })
        })
    }
}

pub struct AlertSummary;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SummaryParams {
    /// Annotations that say what is wrong; any one of them will do.
    keys: Vec<String>,
}

impl Default for SummaryParams {
    fn default() -> Self {
        Self {
            keys: vec!["summary".into(), "title".into()],
        }
    }
}

impl Check for AlertSummary {
    type Section = Alerts;
    type Params = SummaryParams;

    fn id(&self) -> &'static str {
        "alert-summary"
    }
    fn summary(&self) -> &'static str {
        "Each alert has a `summary` annotation (Datadog: a message), so the notification says what is wrong."
    }
    fn run(&self, alerts: &Alerts, p: &SummaryParams, ctx: &Context) -> Vec<Outcome> {
        let alerts = match in_scope(alerts, &RunbookParams::default()) {
            Ok(a) => a,
            Err(skip) => return vec![skip],
        };
        let keys: Vec<String> = p.keys.iter().map(|k| format!("`{k}`")).collect();
        let wanted = keys.join(" or ");
        judge_each(&alerts, ctx, "have a summary", |a| {
            // Datadog monitors have a message, not annotations.
            let has = match a.engine {
                AlertEngine::DatadogJson | AlertEngine::DatadogTerraform => a.has_summary,
                _ => p.keys.iter().any(|k| a.annotations.contains_key(k)),
            };
            (!has).then(|| Outcome::fail(format!("alert `{}` has no {wanted} annotation", a.name)))
        })
    }
}

pub struct AlertSourcesEvaluated;

impl Check for AlertSourcesEvaluated {
    type Section = Alerts;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "alert-sources-evaluated"
    }
    fn summary(&self) -> &'static str {
        "Every file that may define alerts could be evaluated; Helm templates with alerts that only parse after rendering, and jsonnet mixins with no rendered rule file, are listed as unknown."
    }
    fn run(&self, alerts: &Alerts, _: &NoParams, _: &Context) -> Vec<Outcome> {
        if alerts.templated_sources.is_empty() {
            return vec![Outcome::pass(format!(
                "{} alert sources evaluated",
                alerts.sources.len()
            ))];
        }
        alerts
            .templated_sources
            .iter()
            .map(|t| {
                Outcome::new(Status::Unknown, format!("not evaluated: {}", t.reason))
                    .target(&t.location.path)
                    .at(t.location.clone())
            })
            .collect()
    }
}
