//! The policy pack file format. `schemas/policy.schema.json` is generated
//! from these types; the loader turns them into a resolved [`super::Policy`].

use std::collections::BTreeMap;

pub use crate::findings::{Mode, Severity};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// A policy pack: levels, tier requirements, enforcement, rules and waivers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackFile {
    /// Pack name, e.g. `acme-platform`.
    pub name: String,
    /// Pack version (semver recommended), shown in reports.
    pub version: Option<String>,
    pub description: Option<String>,
    /// Packs this one builds on, applied first: `builtin:NAME`, a path
    /// relative to this file, a remote pack (`git+https://HOST/ORG/REPO@REF//path`,
    /// `github:ORG/REPO@REF//path`, `https://...`), or a remote pack pinned
    /// to the sha256 of its text (`{source: URL, sha256: DIGEST}`).
    #[serde(default)]
    pub extends: Vec<Extend>,
    /// The level ladder, lowest first (e.g. `[bronze, silver, gold]`).
    /// Replaces the inherited ladder.
    pub levels: Option<Vec<String>>,
    /// Service tier → level a release needs. Keys are tiers (`1`, `2`, ...)
    /// or `default` for services without a tier. Merged over inherited ones.
    pub tiers: Option<BTreeMap<String, String>>,
    /// First matching entry decides whether failing the required level
    /// blocks. Replaces the inherited list.
    pub enforcement: Option<Vec<EnforcementDef>>,
    #[serde(default)]
    pub rules: Vec<RuleDef>,
    /// Changes to rules defined by an extended pack.
    #[serde(default)]
    pub overrides: Vec<OverrideDef>,
    #[serde(default)]
    pub waivers: Vec<WaiverDef>,
    /// What every waiver must satisfy, here and in every pack that extends
    /// this one: inherited, and only ever tightened (the shortest
    /// `max_days` holds, and every pattern set along the chain must match).
    pub waiver_rules: Option<WaiverRules>,
    /// A file listing quarantined tests: a YAML list of test ids
    /// (`classname::name`, as readygate reports them) whose failures and
    /// flakes are still reported but do not count. A path relative to this
    /// file, read with the pack (so from the base on a pull request); the
    /// lists of extended packs add up.
    pub quarantine: Option<String>,
}

/// One entry of `extends`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Extend {
    /// `builtin:NAME`, a path, or a remote pack.
    Spec(String),
    /// A remote pack and the sha256 its text must have.
    Pinned {
        /// `https://...`, `git+https://...@REF//path` or
        /// `github:ORG/REPO@REF//path`.
        source: String,
        /// The pack's digest, as `sha256sum` prints it.
        #[schemars(regex(pattern = r"^[0-9a-fA-F]{64}$"))]
        sha256: String,
    },
}

impl Extend {
    /// The source as written.
    pub fn spec(&self) -> &str {
        match self {
            Extend::Spec(s) => s,
            Extend::Pinned { source, .. } => source,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnforcementDef {
    /// Branch globs (`release/*`); empty matches any branch.
    #[serde(default)]
    pub branches: Vec<String>,
    /// Events (`push`, `pull_request`, `local`, ...); empty matches any.
    #[serde(default)]
    pub events: Vec<String>,
    pub mode: Mode,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OnUnknown {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Stable identifier, e.g. `iac.terraform-lockfile`.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9._-]*$"))]
    pub id: String,
    pub title: String,
    /// Report grouping: `service`, `iac`, `ci`, `alerts`, ...
    pub area: Option<String>,
    /// The ladder level this rule belongs to.
    pub level: String,
    pub severity: Option<Severity>,
    /// A built-in check (see `readygate explain --checks`). Exactly one of
    /// `check` and `expr`.
    pub check: Option<String>,
    /// Parameters for the built-in check.
    pub params: Option<Json>,
    /// A CEL expression over the evidence document (`evidence`) that is
    /// true when the rule passes.
    pub expr: Option<String>,
    /// Judge each item of a list in the evidence (`evidence.iac.kubernetes`):
    /// `expr` sees the item as `item` (and the document as `evidence`), and
    /// each failing item is its own finding, at the item's `location`, with
    /// its `target`, waivable by that target.
    pub for_each: Option<String>,
    /// The item's field that names it in findings and waivers (a dotted
    /// path; default: the first of `name`, `id`, `key`, `path` it has).
    pub target: Option<String>,
    /// Message shown when an `expr` rule fails.
    pub message: Option<String>,
    /// Why this rule exists: the incident or reasoning behind it.
    pub why: String,
    /// How to fix a failure.
    pub remediation: String,
    /// Link to longer documentation.
    pub docs: Option<String>,
    pub applies_to: Option<AppliesTo>,
    /// Until this date (YYYY-MM-DD) a failure only warns.
    pub enable_on: Option<String>,
    /// What an unobservable result counts as (default `fail`).
    pub on_unknown: Option<OnUnknown>,
    /// Extending packs and repositories may not disable, weaken or waive it.
    #[serde(default)]
    pub locked: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverRules {
    /// Longest a waiver may run: its `expires` at most this many days
    /// after the day it is checked.
    #[schemars(range(min = 1, max = 3650))]
    pub max_days: Option<u32>,
    /// A regular expression every waiver's `ticket` must match (a waiver
    /// without one is refused), e.g. `^(OPS|SEC)-[0-9]+$`.
    pub ticket: Option<String>,
    /// A regular expression every waiver's `owner` must match, e.g.
    /// `^@acme/`.
    pub owners: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    /// Service tiers the rule applies to; other tiers skip it.
    pub tiers: Option<Vec<u8>>,
    /// Lifecycles (`production`, ...) the rule applies to.
    pub lifecycle: Option<Vec<String>>,
    /// Scopes of files the rule judges (default: production only).
    pub scopes: Option<Vec<crate::evidence::scope::Scope>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideDef {
    /// The id of an inherited rule.
    pub rule: String,
    /// `false` disables the rule.
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
    pub level: Option<String>,
    pub params: Option<Json>,
    pub enable_on: Option<String>,
    pub on_unknown: Option<OnUnknown>,
    pub applies_to: Option<AppliesTo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverDef {
    /// The rule waived.
    pub rule: String,
    /// The ticket tracking the fix (required when a pack's `waiver_rules`
    /// set a `ticket` pattern).
    pub ticket: Option<String>,
    /// Glob over the finding's target (a path, module directory, alert...);
    /// omitted waives every target of the rule.
    pub target: Option<String>,
    /// Why it is acceptable for now.
    pub reason: String,
    /// Who answers for it (team or person).
    pub owner: String,
    /// YYYY-MM-DD. After this date the waiver is itself a failure.
    pub expires: String,
}
