//! Policy: packs are loaded and resolved into one [`Policy`] (levels, tier
//! requirements, enforcement, rules, waivers), which [`engine`] evaluates
//! against the evidence. Rules never read files; they read evidence.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use globset::{GlobMatcher, GlobSet};
use serde_json::Value as Json;

use crate::area::AnyCheck;
use crate::check::Params;
use crate::findings::PackRef;
use crate::yaml::Pos;

pub mod builtin;
mod cost;
pub mod diff;
pub mod engine;
pub mod expr;
pub mod load;
pub mod model;
pub mod remote;
pub mod source;
pub mod test;

pub use load::load;

/// The policy schema (`schemas/policy.schema.json`): the pack file's types,
/// with each built-in check's params schema applied to rules naming it.
pub fn schema() -> Json {
    let mut root =
        serde_json::to_value(schemars::schema_for!(model::PackFile)).expect("schema serializes");
    let mut per_check = Vec::new();
    for check in crate::area::CHECKS.iter() {
        let mut params = check.params_schema().to_value();
        let prefix = to_pascal(check.id());
        if let Some(defs) = params.as_object_mut().and_then(|o| o.remove("$defs")) {
            // Each check's own definitions, renamed so two checks cannot
            // collide, and its references with them.
            let mut text = params.to_string();
            let root_defs = root["$defs"].as_object_mut().expect("PackFile has $defs");
            for (name, def) in defs.as_object().into_iter().flatten() {
                let renamed = format!("{prefix}{name}");
                text = text.replace(
                    &format!("\"#/$defs/{name}\""),
                    &format!("\"#/$defs/{renamed}\""),
                );
                let def = def
                    .to_string()
                    .replace("\"#/$defs/", &format!("\"#/$defs/{prefix}"));
                root_defs.insert(renamed, serde_json::from_str(&def).expect("json"));
            }
            params = serde_json::from_str(&text).expect("json");
        }
        if let Some(obj) = params.as_object_mut() {
            obj.remove("$schema");
        }
        per_check.push(serde_json::json!({
            "if": {"properties": {"check": {"const": check.id()}}, "required": ["check"]},
            "then": {"properties": {"params": {"anyOf": [{"type": "null"}, params]}}},
        }));
    }
    root["$defs"]["RuleDef"]["allOf"] = Json::Array(per_check);
    crate::schema::with_id(root, "policy.schema.json")
}

fn to_pascal(id: &str) -> String {
    id.split(['-', '.', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// Compiled once per process: a pack chain validates several files.
pub static SCHEMA: std::sync::LazyLock<jsonschema::Validator> =
    std::sync::LazyLock::new(|| crate::schema::compile(schema()));
use model::{AppliesTo, Mode, OnUnknown, Severity};

/// Where a rule, override or waiver was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub file: String,
    pub pos: Pos,
}

impl Origin {
    pub fn location(&self) -> crate::evidence::Location {
        crate::evidence::Location::new(&self.file, self.pos.line, self.pos.column)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.pos.line, self.pos.column)
    }
}

pub enum Logic {
    Check {
        check: &'static dyn AnyCheck,
        /// Parsed once, at load.
        params: Params,
        /// As written, for the docs.
        raw: Json,
    },
    Expr(expr::Expr),
}

pub struct Rule {
    pub id: String,
    pub title: String,
    pub area: String,
    pub level: String,
    pub severity: Severity,
    pub logic: Logic,
    pub message: Option<String>,
    pub why: String,
    pub remediation: String,
    pub docs: Option<String>,
    pub applies_to: AppliesTo,
    pub enable_on: Option<NaiveDate>,
    pub on_unknown: OnUnknown,
    pub locked: bool,
    pub enabled: bool,
    /// Where the rule was defined.
    pub origin: Origin,
    /// Name of the pack that defined it.
    pub pack: String,
    /// Fields an extending pack changed: the field, the pack's name, and
    /// where its override is; every other field is as defined at `origin`.
    pub overridden: Vec<(&'static str, String, Origin)>,
}

pub struct Waiver {
    pub rule: String,
    pub target: Option<String>,
    pub matcher: Option<GlobMatcher>,
    pub reason: String,
    pub owner: String,
    pub expires: NaiveDate,
    pub origin: Origin,
}

pub struct Enforcement {
    pub branches: Vec<String>,
    pub branch_set: GlobSet,
    pub events: Vec<String>,
    pub mode: Mode,
}

impl Enforcement {
    pub fn matches(&self, branch: Option<&str>, event: &str) -> bool {
        let branch_ok =
            self.branches.is_empty() || branch.is_some_and(|b| self.branch_set.is_match(b));
        let event_ok = self.events.is_empty() || self.events.iter().any(|e| e == event);
        branch_ok && event_ok
    }
}

pub struct Policy {
    pub packs: Vec<PackRef>,
    pub levels: Vec<String>,
    pub tiers: BTreeMap<String, String>,
    pub enforcement: Vec<Enforcement>,
    pub rules: Vec<Rule>,
    pub waivers: Vec<Waiver>,
    /// Test ids whose failures and flakes do not count (`quarantine:`).
    pub quarantine: Vec<String>,
}

impl Policy {
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The level a release of a service of `tier` needs.
    pub fn required_level(&self, tier: Option<u8>) -> String {
        tier.and_then(|t| self.tiers.get(&t.to_string()))
            .or_else(|| self.tiers.get("default"))
            .cloned()
            .or_else(|| self.levels.first().cloned())
            .unwrap_or_default()
    }

    /// Enforcement for this branch and event: the first matching entry, or
    /// `warn` when none matches.
    pub fn mode(&self, branch: Option<&str>, event: &str) -> Mode {
        self.enforcement
            .iter()
            .find(|e| e.matches(branch, event))
            .map_or(Mode::Warn, |e| e.mode)
    }
}
