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
pub mod fields;
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
/// The schema itself, for the keys an object takes.
pub static SCHEMA_JSON: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(schema);
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

impl Rule {
    /// The id without its pack: as the pack wrote it.
    pub fn bare_id(&self) -> &str {
        self.id.rsplit('/').next().unwrap_or(&self.id)
    }

    /// `PACK/ID`: the id no other pack can share.
    pub fn full_id(&self) -> String {
        format!("{}/{}", self.pack, self.bare_id())
    }

    /// Whether `reference` (an id as reported, a bare id, or `PACK/ID`)
    /// names this rule.
    pub fn answers_to(&self, reference: &str) -> bool {
        self.id == reference || self.bare_id() == reference || self.full_id() == reference
    }
}

/// What a rule reference names among `rules`.
pub enum Named<'a> {
    One(usize),
    Nothing,
    /// A bare id two packs define: the rules, each to be named in full.
    Ambiguous(Vec<&'a Rule>),
}

/// The rule `reference` names: `ID` where only one pack defines it,
/// `PACK/ID` always.
pub fn named<'a>(rules: &'a [Rule], reference: &str) -> Named<'a> {
    // The id a rule is reported by wins (a built-in rule keeps its bare
    // id when another pack shares it).
    if let [one] = (0..rules.len())
        .filter(|&i| rules[i].id == reference)
        .collect::<Vec<_>>()[..]
    {
        return Named::One(one);
    }
    let hits: Vec<usize> = (0..rules.len())
        .filter(|&i| rules[i].answers_to(reference))
        .collect();
    match hits.as_slice() {
        [] => Named::Nothing,
        [one] => Named::One(*one),
        many => Named::Ambiguous(many.iter().map(|&i| &rules[i]).collect()),
    }
}

impl Named<'_> {
    /// Why a reference to several rules names none, and how to name one.
    pub fn ambiguity(&self, reference: &str) -> Option<(String, String)> {
        let Named::Ambiguous(rules) = self else {
            return None;
        };
        let each: Vec<String> = rules
            .iter()
            .map(|r| format!("`{}` ({})", r.full_id(), r.origin))
            .collect();
        Some((
            format!(
                "`{reference}` names rules of {} packs: {}",
                rules.len(),
                each.join(" and ")
            ),
            "write the full id, PACK/ID, for the rule meant".to_string(),
        ))
    }
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
    /// Ids two packs both define, each said once with both sources: the
    /// rules run side by side, reported by their full ids.
    pub collisions: Vec<String>,
}

impl Policy {
    /// The one rule `id` names (`ID` or `PACK/ID`).
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        match named(&self.rules, id) {
            Named::One(i) => Some(&self.rules[i]),
            _ => None,
        }
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
