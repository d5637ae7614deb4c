//! Evaluate a resolved policy against the evidence: run each rule, turn check
//! outcomes into findings (severity, grace dates, on_unknown, waivers),
//! compute the level reached and decide whether this run blocks.

use chrono::NaiveDate;

use super::model::{Mode, OnUnknown, Severity};
use super::{Logic, Policy, Rule, Waiver, expr};
use crate::area::Evidence;
use crate::check::{self, Outcome, Status};
use crate::evidence::Judging;
use crate::evidence::scope::{Scope, ScopeRules};
use crate::findings::*;

/// Days before expiry at which a waiver starts to warn.
pub const WAIVER_WARN_DAYS: i64 = 14;

/// Where and when the gate runs.
#[derive(Debug, Clone)]
pub struct Context {
    /// `--tier`, overriding the manifest's tier.
    pub tier: Option<u8>,
    pub branch: Option<String>,
    pub event: String,
    pub today: NaiveDate,
    /// Tier and lifecycle from elsewhere than the evidence's manifest (the
    /// base ref's, under `--policy-ref`).
    pub judging: Option<Judging>,
}

impl Context {
    /// A run on no branch and no CI event (`policy test`, `policy lint`).
    pub fn local(tier: Option<u8>, today: NaiveDate) -> Self {
        Self {
            tier,
            branch: None,
            event: "local".into(),
            today,
            judging: None,
        }
    }
}

pub fn evaluate(policy: &Policy, evidence: &Evidence, ctx: &Context) -> Report {
    let manifest = evidence.service.manifest.as_ref().map(|m| &m.manifest);
    let judging = ctx.judging.clone().unwrap_or_else(|| Judging::of(manifest));
    let tier = ctx.tier.or(judging.tier);
    // The catalog's lifecycle when the manifest states none: the base's
    // under --policy-ref (judging says it), else the evidence's.
    let lifecycle = judging
        .lifecycle
        .map(|l| l.as_str().to_string())
        .or_else(|| match &ctx.judging {
            Some(j) => j.catalog_lifecycle.clone(),
            None => evidence
                .service
                .catalog
                .iter()
                .find_map(|c| c.lifecycle.clone()),
        });
    let exprs: Vec<&expr::Expr> = policy
        .rules
        .iter()
        .filter(|r| r.enabled)
        .filter_map(|r| match &r.logic {
            Logic::Expr(e) => Some(e),
            Logic::Check { .. } => None,
        })
        .collect();
    let cel_context = (!exprs.is_empty()).then(|| expr::context(evidence, exprs.into_iter()));

    // The evidence's own scope rules; they compiled when it was collected.
    let scopes = evidence
        .scopes
        .rules
        .matcher()
        .unwrap_or_else(|_| ScopeRules::defaults().matcher().expect("defaults compile"));
    let check_ctx = check::Context {
        today: ctx.today,
        tier,
        files: &evidence.files,
        problems: &evidence.problems,
        scopes: &scopes,
        quarantine: &policy.quarantine,
    };
    let mut findings = Vec::new();
    for rule in policy.rules.iter().filter(|r| r.enabled) {
        if let Some(reason) = not_applicable(rule, tier, lifecycle.as_deref()) {
            findings.push(finding(rule, &Outcome::skip(reason), State::Skip, None));
            continue;
        }
        let outcomes = match &rule.logic {
            Logic::Check { check, params, .. } => check.run(evidence, params, &check_ctx),
            Logic::Expr(e) => {
                let fail = rule
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("`{}` is false", e.source));
                e.outcomes(
                    cel_context
                        .as_ref()
                        .expect("built when an expr rule is enabled"),
                    &fail,
                )
            }
        };
        for outcome in &outcomes {
            // A finding in a test, example or vendored file is not judged
            // unless the rule says it judges that scope: kept, as a skip.
            let scope = outcome
                .location
                .as_ref()
                .map(|l| scopes.scope(&l.path))
                .filter(|s| *s != Scope::Production);
            match scope {
                Some(s)
                    if outcome.status != Status::Pass
                        && !rule
                            .applies_to
                            .scopes
                            .as_ref()
                            .is_some_and(|w| w.contains(&s)) =>
                {
                    let out_of_scope = Outcome {
                        status: Status::Skip,
                        message: format!("out of scope ({}): {}", s.as_str(), outcome.message),
                        ..outcome.clone()
                    };
                    let mut f = finding(rule, &out_of_scope, State::Skip, None);
                    f.scope = Some(s);
                    findings.push(f);
                }
                _ => findings.extend(judge(policy, rule, outcome, ctx.today)),
            }
        }
    }

    let required = policy.required_level(tier);
    let first_failing = findings
        .iter()
        .filter(|f| f.counts_against_level)
        .filter_map(|f| policy.levels.iter().position(|l| *l == f.level))
        .min();
    let reached_idx = match first_failing {
        Some(0) => None,
        Some(i) => Some(i - 1),
        None => Some(policy.levels.len() - 1),
    };
    let mode = policy.mode(ctx.branch.as_deref(), &ctx.event);
    let mut counts = Counts::default();
    findings.iter().for_each(|f| counts.add(f.state));
    // Worst state first; within it the lowest level first, so the rules
    // that keep the service below its next level lead every report, and
    // the rest follow by level.
    let level_rank = |f: &Finding| {
        policy
            .levels
            .iter()
            .position(|l| *l == f.level)
            .unwrap_or(usize::MAX)
    };
    findings.sort_by(|a, b| {
        (
            a.state,
            level_rank(a),
            &a.area,
            &a.rule,
            &a.location,
            &a.target,
        )
            .cmp(&(
                b.state,
                level_rank(b),
                &b.area,
                &b.rule,
                &b.location,
                &b.target,
            ))
    });
    let mut verdict = Verdict {
        level_reached: reached_idx.map(|i| policy.levels[i].clone()),
        level_required: required,
        levels: policy.levels.clone(),
        tier,
        branch: ctx.branch.clone(),
        event: ctx.event.clone(),
        mode,
        blocked: false,
        counts,
    };
    verdict.blocked = mode == Mode::Block && !verdict.level_reached_meets();
    Report {
        report_version: REPORT_VERSION,
        generator: format!("readygate {}", env!("CARGO_PKG_VERSION")),
        service: manifest.map(|m| m.service.clone()),
        policy: policy.packs.clone(),
        verdict,
        findings,
        comparison: None,
        changes: None,
        policy_ref: None,
        max_per_rule: None,
    }
}

fn not_applicable(rule: &Rule, tier: Option<u8>, lifecycle: Option<&str>) -> Option<String> {
    if let Some(tiers) = &rule.applies_to.tiers {
        let list = tiers
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match tier {
            Some(t) if tiers.contains(&t) => {}
            Some(t) => return Some(format!("applies to tiers {list}; this service is tier {t}")),
            None => {
                return Some(format!(
                    "applies to tiers {list}; this service declares no tier"
                ));
            }
        }
    }
    if let Some(lifecycles) = &rule.applies_to.lifecycle {
        match lifecycle {
            Some(l) if lifecycles.iter().any(|x| x == l) => {}
            other => {
                return Some(format!(
                    "applies to lifecycle {}; this service is {}",
                    lifecycles.join(", "),
                    other.unwrap_or("undeclared")
                ));
            }
        }
    }
    None
}

fn finding(rule: &Rule, outcome: &Outcome, state: State, waiver: Option<&Waiver>) -> Finding {
    let counts_against_level = match state {
        State::Fail => true,
        State::Unknown => rule.on_unknown == OnUnknown::Fail,
        _ => false,
    };
    Finding {
        rule: rule.id.clone(),
        title: rule.title.clone(),
        area: rule.area.clone(),
        level: rule.level.clone(),
        severity: rule.severity,
        state,
        counts_against_level,
        target: outcome.target.clone(),
        message: outcome.message.clone(),
        location: outcome.location.clone(),
        related: outcome.related.clone(),
        scope: None,
        why: rule.why.clone(),
        remediation: rule.remediation.clone(),
        docs: rule.docs.clone(),
        waiver: waiver.map(|w| WaiverRef {
            reason: w.reason.clone(),
            owner: w.owner.clone(),
            expires: w.expires.to_string(),
            location: w.origin.location(),
        }),
        baseline: None,
        on_changed_line: None,
    }
}

fn waiver_matches(w: &Waiver, rule: &Rule, outcome: &Outcome) -> bool {
    w.rule == rule.id
        && match &w.matcher {
            None => true,
            Some(m) => {
                outcome.target.as_deref().is_some_and(|t| m.is_match(t))
                    || outcome
                        .location
                        .as_ref()
                        .is_some_and(|l| m.is_match(&l.path))
            }
        }
}

/// One outcome → its finding, plus a finding about the waiver when one
/// expired or is about to.
fn judge(policy: &Policy, rule: &Rule, outcome: &Outcome, today: NaiveDate) -> Vec<Finding> {
    let mut state = match outcome.status {
        Status::Pass => State::Pass,
        Status::Skip => State::Skip,
        Status::Unknown => match rule.on_unknown {
            OnUnknown::Pass => State::Pass,
            _ => State::Unknown,
        },
        Status::Fail if rule.severity == Severity::Warning => State::Warn,
        Status::Fail => State::Fail,
    };
    let mut adjusted = outcome.clone();
    if state == State::Fail
        && let Some(date) = rule.enable_on.filter(|d| *d > today)
    {
        state = State::Warn;
        adjusted.message = format!("{} (enforced from {date})", outcome.message);
    }
    if !matches!(state, State::Fail | State::Warn | State::Unknown) {
        return vec![finding(rule, &adjusted, state, None)];
    }
    let mut out = Vec::new();
    let waiver = policy
        .waivers
        .iter()
        .find(|w| waiver_matches(w, rule, outcome));
    match waiver {
        Some(w) if w.expires < today => {
            out.push(finding(rule, &adjusted, state, None));
            out.push(waiver_finding(
                rule,
                w,
                State::Fail,
                format!(
                    "waiver expired on {}; the failure it covered counts again",
                    w.expires
                ),
            ));
        }
        Some(w) => {
            out.push(finding(rule, &adjusted, State::Waived, Some(w)));
            let left = (w.expires - today).num_days();
            if left <= WAIVER_WARN_DAYS {
                out.push(waiver_finding(
                    rule,
                    w,
                    State::Warn,
                    format!("waiver expires on {} ({left} days)", w.expires),
                ));
            }
        }
        None => out.push(finding(rule, &adjusted, state, None)),
    }
    out
}

fn waiver_finding(rule: &Rule, w: &Waiver, state: State, message: String) -> Finding {
    let id = if state == State::Fail {
        "readygate.waiver-expired"
    } else {
        "readygate.waiver-expiring"
    };
    Finding {
        rule: id.into(),
        title: format!("Waiver for `{}`", rule.id),
        area: "waivers".into(),
        level: rule.level.clone(),
        severity: if state == State::Fail { Severity::Error } else { Severity::Warning },
        state,
        counts_against_level: state == State::Fail,
        target: w.target.clone(),
        message: format!("{message} (owner {}, reason: {})", w.owner, w.reason),
        location: Some(w.origin.location()),
        related: Vec::new(),
        scope: None,
        why: "A waiver is a dated promise, not a permanent exception: when it lapses, the risk it accepted is back and someone must decide again.".into(),
        remediation: format!("Fix what `{}` finds and delete the waiver, or have {} renew it with a new `expires` and a reason.", rule.id, w.owner),
        docs: None,
        waiver: None,
        baseline: None,
        on_changed_line: None,
    }
}
