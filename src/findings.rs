//! What evaluation produces and every reporter renders: findings and the
//! verdict. Versioned like the evidence document.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::evidence::Location;

pub const REPORT_VERSION: u32 = 1;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Fail,
    Unknown,
    Warn,
    Waived,
    Pass,
    Skip,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pass => "pass",
            State::Fail => "fail",
            State::Warn => "warn",
            State::Unknown => "unknown",
            State::Skip => "skip",
            State::Waived => "waived",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct WaiverRef {
    pub reason: String,
    pub owner: String,
    pub expires: String,
    pub location: Location,
}

/// One rule's result on one target.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub rule: String,
    pub title: String,
    pub area: String,
    pub level: String,
    pub severity: Severity,
    pub state: State,
    /// True when this finding keeps the service below its level.
    pub counts_against_level: bool,
    /// What was checked: a path, module, alert... (absent for repo-wide rules).
    pub target: Option<String>,
    pub message: String,
    pub location: Option<Location>,
    /// Other places that explain it (what a link points to, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Location>,
    /// Set when the finding's file is not production code (tests, examples,
    /// vendored): the rule does not judge it, so it is a `skip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<crate::evidence::scope::Scope>,
    pub why: String,
    pub remediation: String,
    pub docs: Option<String>,
    pub waiver: Option<WaiverRef>,
    /// With `--baseline`: how this finding compares with the base ref
    /// (findings that need attention only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineState>,
    /// With `--annotate changed`: whether its line is one the change
    /// touches (annotated) or elsewhere (summarised).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_changed_line: Option<bool>,
}

/// A finding against the baseline, in SARIF's `baselineState` terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BaselineState {
    /// The baseline has no finding for this rule, target and file.
    New,
    /// The baseline had it in a milder state (a warning that now fails).
    Updated,
    /// The baseline had it already, in this state or a worse one.
    Unchanged,
}

impl BaselineState {
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineState::New => "new",
            BaselineState::Updated => "updated",
            BaselineState::Unchanged => "unchanged",
        }
    }
}

/// What `--fail-on` blocks on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Whenever the policy blocks.
    All,
    /// Only when the policy blocks and a failure counting against the
    /// level is new (or worse) against `--baseline`.
    New,
}

impl Finding {
    /// A failing finding of `rule` on `target` at `path:line`, everything
    /// else empty: a starting point for tests.
    pub fn example(rule: &str, target: &str, path: &str, line: u32) -> Finding {
        Finding {
            rule: rule.into(),
            title: rule.into(),
            area: "alerts".into(),
            level: "bronze".into(),
            severity: Severity::Error,
            state: State::Fail,
            counts_against_level: true,
            target: Some(target.into()),
            message: String::new(),
            location: Some(Location::new(path, line, 1)),
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

    /// Rule, target and file: what a finding is about, without the line,
    /// so it keeps its identity when code moves (SARIF fingerprints,
    /// baseline comparison).
    pub fn identity(&self) -> (&str, Option<&str>, Option<&str>) {
        (
            &self.rule,
            self.target.as_deref(),
            self.location.as_ref().map(|l| l.path.as_str()),
        )
    }

    /// Rule and target: what a finding is about when its file was renamed.
    pub fn rule_and_target(&self) -> (&str, Option<&str>) {
        (&self.rule, self.target.as_deref())
    }

    /// A regression for `--fail-on new`: it keeps the service below its
    /// level and the baseline did not have it (or had it milder).
    pub fn is_regression(&self) -> bool {
        self.counts_against_level
            && matches!(
                self.baseline,
                Some(BaselineState::New | BaselineState::Updated)
            )
    }

    /// Failures, unknowns and warnings: what a reader must look at.
    pub fn needs_attention(&self) -> bool {
        matches!(self.state, State::Fail | State::Unknown | State::Warn)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// Highest level whose rules (and all lower levels') pass; null if none.
    pub level_reached: Option<String>,
    pub level_required: String,
    pub levels: Vec<String>,
    pub tier: Option<u8>,
    pub branch: Option<String>,
    pub event: String,
    pub mode: Mode,
    /// True when the gate fails this run (exit code 1).
    pub blocked: bool,
    pub counts: Counts,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    pub pass: u32,
    pub fail: u32,
    pub warn: u32,
    pub unknown: u32,
    pub skip: u32,
    pub waived: u32,
}

impl Counts {
    pub fn add(&mut self, state: State) {
        match state {
            State::Pass => self.pass += 1,
            State::Fail => self.fail += 1,
            State::Warn => self.warn += 1,
            State::Unknown => self.unknown += 1,
            State::Skip => self.skip += 1,
            State::Waived => self.waived += 1,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PackRef {
    pub name: String,
    pub version: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub report_version: u32,
    pub generator: String,
    pub service: Option<String>,
    pub policy: Vec<PackRef>,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    /// With `--baseline`: new and fixed findings against the base ref.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// With `--annotate changed`: which changes scoped the annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeScope>,
    /// With `--policy-ref`: where the policy was read from, and what the
    /// change under review would do to it (not in force).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_ref: Option<PolicyFromRef>,
    /// How many findings of one rule the terminal and Markdown list before
    /// "and N more like this" (`None`: all). JSON and SARIF keep every one.
    #[serde(skip)]
    #[schemars(skip)]
    pub max_per_rule: Option<usize>,
}

/// The policy came from a ref, not the working tree.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PolicyFromRef {
    /// As given to `--policy-ref`.
    pub policy_ref: String,
    /// The commit it named.
    pub commit: String,
    /// What the working tree changes in the policy and in the manifest's
    /// judging fields; shown, not obeyed.
    pub head_changes: Vec<PolicyChange>,
    /// The working tree's policy did not load, so its changes are unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PolicyChange {
    pub kind: PolicyChangeKind,
    /// The rule, waiver (`RULE on TARGET`), tier or setting it concerns.
    pub subject: String,
    pub message: String,
    pub location: Option<Location>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyChangeKind {
    WaiverAdded,
    WaiverExtended,
    WaiverRemoved,
    RuleDisabled,
    RuleWeakened,
    RuleRemoved,
    Levels,
    Tiers,
    Enforcement,
    /// The manifest's tier, lifecycle or alert settings.
    Manifest,
}

/// The result of evaluating the base ref with the same policy.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Comparison {
    /// As given to `--baseline`.
    pub baseline_ref: String,
    /// The commit it named.
    pub baseline_commit: String,
    /// The level the base ref reached.
    pub baseline_level: Option<String>,
    /// Findings needing attention that are new or worse than the baseline.
    pub new: u32,
    /// Of those, the ones that keep the service below its level.
    pub regressions: u32,
    /// Findings the baseline needed attention for that are gone or pass.
    pub fixed: Vec<FixedFinding>,
    pub fail_on: FailOn,
    /// Whether the policy alone blocks this run; with `fail_on: new` the
    /// verdict blocks only if there are regressions too.
    pub policy_blocks: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FixedFinding {
    pub rule: String,
    pub title: String,
    pub area: String,
    /// Its state in the baseline.
    pub was: State,
    /// Its state now (`pass`, `waived`, `skip`), or none when the rule no
    /// longer finds it at all (the alert or file is gone).
    pub now: Option<State>,
    pub target: Option<String>,
    /// Where it was in the baseline.
    pub location: Option<Location>,
}

impl FixedFinding {
    /// `was fail`, or `was fail, now waived`.
    pub fn change(&self) -> String {
        match self.now {
            Some(now) => format!("was {}, now {}", self.was.as_str(), now.as_str()),
            None => format!("was {}", self.was.as_str()),
        }
    }
}

/// The lines a change touches, which annotations are limited to.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ChangeScope {
    /// Where the changed lines came from: `pull request #12`, `git diff main`.
    pub source: String,
    /// Files the change touches.
    pub files: u32,
    /// Findings needing attention on changed lines, and elsewhere.
    pub on_changed_lines: u32,
    pub elsewhere: u32,
}

impl Verdict {
    /// Whether the level reached is at least the level required.
    pub fn level_reached_meets(&self) -> bool {
        let idx = |l: &str| self.levels.iter().position(|x| x == l);
        match &self.level_reached {
            Some(r) => idx(r) >= idx(&self.level_required),
            None => false,
        }
    }
}

impl Report {
    pub fn exit_code(&self) -> i32 {
        i32::from(self.verdict.blocked)
    }

    /// Put `prefix/` before every path: locations are relative to the
    /// scanned root, and GitHub wants them relative to the repository when
    /// the root is a subdirectory of it.
    pub fn prefix_paths(&mut self, prefix: &str) {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            return;
        }
        let rebase = |loc: &mut Location| loc.path = format!("{prefix}/{}", loc.path);
        for f in &mut self.findings {
            if let Some(loc) = &mut f.location {
                rebase(loc);
            }
            if let Some(w) = &mut f.waiver {
                rebase(&mut w.location);
            }
        }
        for f in self.comparison.iter_mut().flat_map(|c| &mut c.fixed) {
            if let Some(loc) = &mut f.location {
                rebase(loc);
            }
        }
    }
}

// How a failing policy is enforced on this branch and event (no doc
// comment: it would change the published policy schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Exit 1 when the required level is not reached.
    Block,
    /// Report, exit 0.
    Warn,
    /// Not enforced here.
    Off,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Mode {
    /// The name as written in a pack.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Block => "block",
            Mode::Warn => "warn",
            Mode::Off => "off",
        }
    }
}

impl Severity {
    /// The name as written in a pack.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[cfg(test)]
mod mode_tests {
    use super::*;

    #[test]
    fn names_match_the_file_format() {
        for m in [Mode::Block, Mode::Warn, Mode::Off] {
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
        for s in [Severity::Warning, Severity::Error] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
