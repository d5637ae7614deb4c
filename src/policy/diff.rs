//! What a change does to the policy it is judged by: the head's policy
//! against the base's (`--policy-ref`). Under `--policy-ref` these edits do
//! not count yet; listing them puts a weakening in front of reviewers.

use std::collections::BTreeMap;

use super::model::{OnUnknown, Severity};
use super::{Logic, Policy, Rule, Waiver};
use crate::findings::{PolicyChange, PolicyChangeKind};

/// Every difference that matters to a verdict, weakenings first.
pub fn changes(base: &Policy, head: &Policy) -> Vec<PolicyChange> {
    let mut out = Vec::new();
    waivers(base, head, &mut out);
    rules(base, head, &mut out);
    if base.levels != head.levels {
        out.push(change(
            PolicyChangeKind::Levels,
            "levels",
            format!(
                "the level ladder changes from {} to {}",
                base.levels.join(" < "),
                head.levels.join(" < ")
            ),
        ));
    }
    let tiers: std::collections::BTreeSet<&String> =
        base.tiers.keys().chain(head.tiers.keys()).collect();
    for tier in tiers {
        let (b, h) = (base.tiers.get(tier), head.tiers.get(tier));
        if b != h {
            out.push(change(
                PolicyChangeKind::Tiers,
                &format!("tiers.{tier}"),
                format!(
                    "tier {tier} would need {} instead of {}",
                    h.map_or("nothing", String::as_str),
                    b.map_or("nothing", String::as_str)
                ),
            ));
        }
    }
    let describe = |p: &Policy| -> Vec<String> {
        p.enforcement
            .iter()
            .map(|e| {
                format!(
                    "{} on {}{}",
                    e.mode.as_str(),
                    if e.branches.is_empty() {
                        "any branch".into()
                    } else {
                        e.branches.join(", ")
                    },
                    if e.events.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", e.events.join(", "))
                    }
                )
            })
            .collect()
    };
    if describe(base) != describe(head) {
        out.push(change(
            PolicyChangeKind::Enforcement,
            "enforcement",
            format!(
                "enforcement would be [{}] instead of [{}]",
                describe(head).join("; "),
                describe(base).join("; ")
            ),
        ));
    }
    out
}

fn change(kind: PolicyChangeKind, subject: &str, message: String) -> PolicyChange {
    PolicyChange {
        kind,
        subject: subject.to_string(),
        message,
        location: None,
    }
}

fn waiver_key(w: &Waiver) -> (String, String) {
    (w.rule.clone(), w.target.clone().unwrap_or_default())
}

fn by_key(p: &Policy) -> BTreeMap<(String, String), &Waiver> {
    p.waivers.iter().map(|w| (waiver_key(w), w)).collect()
}

fn waivers(base: &Policy, head: &Policy, out: &mut Vec<PolicyChange>) {
    let (b, h) = (by_key(base), by_key(head));
    let name = |(rule, target): &(String, String)| match target.as_str() {
        "" => rule.clone(),
        t => format!("{rule} on {t}"),
    };
    for (key, w) in &h {
        let located = |c: PolicyChange| PolicyChange {
            location: Some(w.origin.location()),
            ..c
        };
        match b.get(key) {
            None => out.push(located(change(
                PolicyChangeKind::WaiverAdded,
                &name(key),
                format!(
                    "adds a waiver for {} (owner {}, expires {}): {}",
                    name(key),
                    w.owner,
                    w.expires,
                    w.reason
                ),
            ))),
            Some(old) if w.expires > old.expires => out.push(located(change(
                PolicyChangeKind::WaiverExtended,
                &name(key),
                format!(
                    "extends the waiver for {} from {} to {} (owner {})",
                    name(key),
                    old.expires,
                    w.expires,
                    w.owner
                ),
            ))),
            Some(_) => {}
        }
    }
    for key in b.keys().filter(|k| !h.contains_key(*k)) {
        out.push(change(
            PolicyChangeKind::WaiverRemoved,
            &name(key),
            format!("removes the waiver for {}", name(key)),
        ));
    }
}

fn rules(base: &Policy, head: &Policy, out: &mut Vec<PolicyChange>) {
    for b in base.rules.iter().filter(|r| r.enabled) {
        let Some(h) = head.rule(&b.id) else {
            out.push(change(
                PolicyChangeKind::RuleRemoved,
                &b.id,
                format!("removes rule `{}`", b.id),
            ));
            continue;
        };
        let mut weaker = Vec::new();
        if !h.enabled {
            weaker.push("disables it".to_string());
        }
        if b.severity == Severity::Error && h.severity == Severity::Warning {
            weaker.push("lowers its severity to warning".into());
        }
        // A higher level is needed by fewer services: weaker.
        if level_rank(head, &h.level) > level_rank(base, &b.level) {
            weaker.push(format!("moves it from {} to {}", b.level, h.level));
        }
        if h.enable_on > b.enable_on {
            weaker.push(format!(
                "postpones it to {}",
                h.enable_on.map_or("never".into(), |d| d.to_string())
            ));
        }
        if unknown_rank(h.on_unknown) < unknown_rank(b.on_unknown) {
            weaker.push("counts an unobservable result as less than a failure".into());
        }
        if h.applies_to != b.applies_to {
            weaker.push("changes where it applies".into());
        }
        match (&b.logic, &h.logic) {
            (Logic::Check { check: bc, .. }, Logic::Check { check: hc, .. })
                if bc.id() != hc.id() =>
            {
                weaker.push(format!("checks `{}` instead of `{}`", hc.id(), bc.id()));
            }
            (Logic::Expr(be), Logic::Expr(he)) if be.source != he.source => {
                weaker.push(format!("changes its expression to `{}`", he.source));
            }
            (Logic::Check { .. }, Logic::Expr(e)) => {
                weaker.push(format!(
                    "replaces its check with the expression `{}`",
                    e.source
                ));
            }
            (Logic::Expr(_), Logic::Check { check, .. }) => {
                weaker.push(format!(
                    "replaces its expression with the check `{}`",
                    check.id()
                ));
            }
            _ if params(h) != params(b) => weaker.push("changes its params".into()),
            _ => {}
        }
        if !weaker.is_empty() {
            out.push(PolicyChange {
                kind: if h.enabled {
                    PolicyChangeKind::RuleWeakened
                } else {
                    PolicyChangeKind::RuleDisabled
                },
                subject: b.id.clone(),
                message: format!("rule `{}`: {}", b.id, weaker.join(", ")),
                location: Some(h.origin.location()),
            });
        }
    }
}

fn level_rank(p: &Policy, level: &str) -> usize {
    p.levels.iter().position(|l| l == level).unwrap_or(0)
}

fn unknown_rank(o: OnUnknown) -> u8 {
    match o {
        OnUnknown::Pass => 0,
        OnUnknown::Warn => 1,
        OnUnknown::Fail => 2,
    }
}

fn params(rule: &Rule) -> Option<&serde_json::Value> {
    match &rule.logic {
        Logic::Check { raw, .. } => Some(raw),
        Logic::Expr(_) => None,
    }
}
