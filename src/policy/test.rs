//! `readygate policy test DIR`: unit tests for a pack. Each case file
//! (`*.case.yaml` in DIR) names the pack, an evidence document (the JSON
//! `readygate evidence` writes) or a fixture repository to scan, the tier
//! and date, and the state it expects per rule, or per target of a rule.
//! A case passes when every expectation holds; a failure prints what was
//! expected next to what came out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::findings::{Finding, State};

/// One case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The pack under test: `builtin:NAME`, or a path relative to the case.
    pub policy: String,
    /// An evidence document (JSON), relative to the case.
    pub evidence: Option<String>,
    /// A fixture repository to scan instead, relative to the case.
    pub repo: Option<String>,
    pub tier: Option<u8>,
    /// The evaluation date (default: today).
    pub now: Option<NaiveDate>,
    /// Per rule: a state, or per target a state (`{web-config: fail}`).
    pub expect: BTreeMap<String, Expect>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Expect {
    State(String),
    ByTarget(BTreeMap<String, String>),
}

/// What a case found wrong: one line per expectation that did not hold.
pub fn compare(findings: &[Finding], expect: &BTreeMap<String, Expect>) -> Vec<String> {
    let mut wrong = Vec::new();
    for (rule, want) in expect {
        let of_rule: Vec<&Finding> = findings.iter().filter(|f| f.rule == *rule).collect();
        if of_rule.is_empty() {
            wrong.push(format!(
                "{rule}: expected {}, but the rule is not in the report (a typo, or disabled?)",
                describe(want)
            ));
            continue;
        }
        match want {
            Expect::State(state) => {
                let got = rule_state(&of_rule);
                if got.as_str() != state {
                    let detail: Vec<String> = of_rule
                        .iter()
                        .filter(|f| f.state == got)
                        .take(3)
                        .map(|f| f.message.clone())
                        .collect();
                    wrong.push(format!(
                        "{rule}: expected {state}, got {} ({})",
                        got.as_str(),
                        detail.join("; ")
                    ));
                }
            }
            Expect::ByTarget(targets) => {
                for (target, state) in targets {
                    let got: Vec<&str> = of_rule
                        .iter()
                        .filter(|f| f.target.as_deref() == Some(target))
                        .map(|f| f.state.as_str())
                        .collect();
                    match got.as_slice() {
                        // A for_each rule reports the items that do not
                        // hold; an item it does not name passed.
                        [] if state == "pass" => {}
                        [] => wrong.push(format!(
                            "{rule} [{target}]: expected {state}, but no finding has that target (it passed)"
                        )),
                        [one] if one == state => {}
                        other => wrong.push(format!(
                            "{rule} [{target}]: expected {state}, got {}",
                            other.join(", ")
                        )),
                    }
                }
            }
        }
    }
    wrong
}

fn describe(want: &Expect) -> String {
    match want {
        Expect::State(s) => s.clone(),
        Expect::ByTarget(t) => format!("{} target(s)", t.len()),
    }
}

/// A rule's state over its findings: the worst one (fail over unknown over
/// warn over waived over pass over skip).
fn rule_state(findings: &[&Finding]) -> State {
    findings
        .iter()
        .map(|f| f.state)
        .min()
        .unwrap_or(State::Skip)
}

/// The case files of a directory, in name order.
pub fn cases(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".case.yaml") || n.ends_with(".case.yml"))
        })
        .collect();
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &str, target: Option<&str>, state: State) -> Finding {
        Finding {
            rule: rule.into(),
            title: String::new(),
            area: String::new(),
            level: "bronze".into(),
            severity: crate::policy::model::Severity::Error,
            state,
            counts_against_level: false,
            target: target.map(str::to_string),
            message: format!("{rule} says {}", state.as_str()),
            location: None,
            related: Vec::new(),
            scope: None,
            why: String::new(),
            remediation: String::new(),
            docs: None,
            waiver: None,
            baseline: None,
            on_changed_line: None,
        }
    }

    #[test]
    fn expectations_per_rule_and_per_target() {
        let findings = vec![
            finding("a", None, State::Pass),
            finding("b", Some("x"), State::Fail),
            finding("b", Some("y"), State::Waived),
        ];
        let expect: BTreeMap<String, Expect> = serde_json::from_value(serde_json::json!({
            "a": "pass",
            "b": {"x": "fail", "y": "waived"},
        }))
        .unwrap();
        assert!(compare(&findings, &expect).is_empty());
        let expect: BTreeMap<String, Expect> = serde_json::from_value(serde_json::json!({
            "a": "fail",
            "b": "pass",
            "c": "pass",
            "b2": {"z": "fail"},
        }))
        .unwrap();
        let wrong = compare(&findings, &expect);
        assert_eq!(wrong.len(), 4, "{wrong:#?}");
        assert!(wrong[0].starts_with("a: expected fail, got pass"));
        assert!(wrong[1].starts_with("b: expected pass, got fail"));
    }
}
