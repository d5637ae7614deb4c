//! Built-in checks: named predicates over one area's evidence that a rule
//! selects with `check:` and tunes with `params:`. A check declares its
//! params type; params are parsed once when the policy loads, the policy
//! schema validates them per check, and the docs are rendered from the type.
//! Each area lists its checks; the registry ([`crate::area`]) binds them to
//! the evidence document.

use std::any::Any;
use std::sync::Arc;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::evidence::scope::{Scope, ScopeMatcher};
use crate::evidence::{FileStats, Location, Problem};

pub mod readable;

/// A check's verdict on one target, before policy (severity, grace dates,
/// waivers) turns it into a finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub target: Option<String>,
    pub message: String,
    pub location: Option<Location>,
    /// Other places that explain the outcome (the file a link points to,
    /// the rule a monitor watches).
    pub related: Vec<Location>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    /// The evidence needed could not be observed.
    Unknown,
    /// Nothing to check (e.g. no Terraform in the repository).
    Skip,
}

impl Outcome {
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            target: None,
            message: message.into(),
            location: None,
            related: Vec::new(),
        }
    }

    pub fn pass(message: impl Into<String>) -> Self {
        Self::new(Status::Pass, message)
    }

    pub fn fail(message: impl Into<String>) -> Self {
        Self::new(Status::Fail, message)
    }

    pub fn skip(message: impl Into<String>) -> Self {
        Self::new(Status::Skip, message)
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn related(mut self, location: Location) -> Self {
        self.related.push(location);
        self
    }

    /// Pass or fail on a condition.
    pub fn when(ok: bool, pass: impl Into<String>, fail: impl Into<String>) -> Self {
        if ok {
            Self::pass(pass)
        } else {
            Self::fail(fail)
        }
    }
}

/// What every check sees besides its area's section.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The evaluation date (`--now`).
    pub today: NaiveDate,
    /// The service's tier: `--tier`, else the manifest's.
    pub tier: Option<u8>,
    /// What the walk saw.
    pub files: &'a FileStats,
    /// Files that look like evidence but could not be used.
    pub problems: &'a [Problem],
    /// The evidence's scope rules: what is production and what is test,
    /// example or vendored code.
    pub scopes: &'a ScopeMatcher,
    /// Test ids the policy quarantines: reported, not counted.
    pub quarantine: &'a [String],
}

impl Context<'_> {
    /// Whether `at` is production code. A check that counts evidence for
    /// its pass counts only this; failures elsewhere are made skips by the
    /// engine.
    pub fn production(&self, at: &Location) -> bool {
        self.scopes.scope(&at.path) == Scope::Production
    }
}

/// A built-in check over one area's evidence section.
pub trait Check: Sync + 'static {
    /// The evidence section it reads.
    type Section;
    /// Its `params`, with their documentation (doc comments become the
    /// schema's descriptions). Absent params mean `Default`.
    type Params: DeserializeOwned + JsonSchema + Default + Send + Sync + 'static;

    fn id(&self) -> &'static str;
    /// One line for `readygate explain` and the docs.
    fn summary(&self) -> &'static str;
    /// What the params' types cannot say (a glob compiles, ...): checked
    /// when the policy loads, never at run time.
    fn validate(&self, _params: &Self::Params) -> Result<(), ParamsError> {
        Ok(())
    }
    fn run(&self, section: &Self::Section, params: &Self::Params, ctx: &Context) -> Vec<Outcome>;
}

/// Params that do not parse or validate: a configuration error at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamsError(pub String);

impl std::fmt::Display for ParamsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamsError {}

/// Parsed params, type-erased so a policy can hold any check's.
pub type Params = Arc<dyn Any + Send + Sync>;

/// [`Check`] with its params type erased, still over one section type: the
/// form an area lists its checks in.
pub trait SectionCheck<S>: Sync {
    fn id(&self) -> &'static str;
    fn summary(&self) -> &'static str;
    /// The JSON Schema of its params, as a root schema (with `$defs`).
    fn params_schema(&self) -> schemars::Schema;
    fn parse(&self, params: &Json) -> Result<Params, ParamsError>;
    fn run(&self, section: &S, params: &Params, ctx: &Context) -> Vec<Outcome>;
}

impl<C: Check> SectionCheck<C::Section> for C {
    fn id(&self) -> &'static str {
        Check::id(self)
    }
    fn summary(&self) -> &'static str {
        Check::summary(self)
    }
    fn params_schema(&self) -> schemars::Schema {
        schemars::schema_for!(C::Params)
    }
    fn parse(&self, params: &Json) -> Result<Params, ParamsError> {
        let parsed: C::Params = match params {
            Json::Null => C::Params::default(),
            other => {
                serde_json::from_value(other.clone()).map_err(|e| ParamsError(e.to_string()))?
            }
        };
        self.validate(&parsed)?;
        Ok(Arc::new(parsed))
    }
    fn run(&self, section: &C::Section, params: &Params, ctx: &Context) -> Vec<Outcome> {
        match params.downcast_ref::<C::Params>() {
            Some(params) => Check::run(self, section, params, ctx),
            // Only a program that pairs a check with another's params gets
            // here; say so rather than guess.
            None => vec![Outcome::new(
                Status::Unknown,
                format!(
                    "params given to `{}` were parsed for another check",
                    self.id()
                ),
            )],
        }
    }
}

/// The params of a check that takes none: null or `{}`.
#[derive(Debug, Clone, Copy, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct NoParams {}

impl<'de> serde::Deserialize<'de> for NoParams {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Json::deserialize(d)? {
            Json::Null => Ok(NoParams {}),
            Json::Object(m) if m.is_empty() => Ok(NoParams {}),
            _ => Err(serde::de::Error::custom("this check takes no params")),
        }
    }
}

/// One line describing a params schema for people: each property with its
/// type, default and description, from the type's own documentation.
pub fn describe_params(schema: &schemars::Schema) -> String {
    let root = schema.as_value();
    let Some(props) = root.get("properties").and_then(Json::as_object) else {
        return "none".into();
    };
    if props.is_empty() {
        return "none".into();
    }
    props
        .iter()
        .map(|(name, prop)| {
            let target = resolve(root, prop);
            let kind = type_name(root, target);
            let default = prop
                .get("default")
                .map(|d| format!(", default {d}"))
                .unwrap_or_default();
            let description = prop
                .get("description")
                .or_else(|| target.get("description"))
                .and_then(Json::as_str)
                .map(|d| format!(": {}", d.replace('\n', " ").trim_end_matches('.')))
                .unwrap_or_default();
            format!("`{name}` ({kind}{default}){description}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `node`, or the definition its `$ref` names.
fn resolve<'a>(root: &'a Json, node: &'a Json) -> &'a Json {
    node.get("$ref")
        .and_then(Json::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| root.get("$defs")?.get(name))
        .unwrap_or(node)
}

fn type_name(root: &Json, schema: &Json) -> String {
    let consts: Vec<&str> = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .or_else(|| schema.get("enum"))
        .and_then(Json::as_array)
        .map(|alts| {
            alts.iter()
                .flat_map(|a| match (a.get("const"), a.get("enum")) {
                    (Some(c), _) => vec![c],
                    (None, Some(Json::Array(values))) => values.iter().collect(),
                    _ => vec![a],
                })
                .filter_map(Json::as_str)
                .collect()
        })
        .unwrap_or_default();
    if !consts.is_empty() {
        return consts.join(" | ");
    }
    match schema.get("type") {
        Some(Json::String(t)) if t == "array" => {
            let item = schema
                .get("items")
                .map(|i| type_name(root, resolve(root, i)))
                .unwrap_or_default();
            format!("list of {item}")
        }
        Some(Json::String(t)) => t.clone(),
        Some(Json::Array(ts)) => ts
            .iter()
            .filter_map(Json::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "value".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Example {
        /// Which ones.
        kinds: Vec<crate::evidence::ProblemKind>,
        /// A fraction.
        min: Option<f64>,
    }

    #[test]
    fn params_are_described_from_their_types() {
        let text = describe_params(&schemars::schema_for!(Example));
        assert!(
            text.starts_with("`kinds` (list of unparseable | oversize | unreadable | not-utf8 | symlink-outside-root | empty | over-budget | template): Which ones; "),
            "{text}"
        );
        assert!(text.ends_with("`min` (number): A fraction"), "{text}");
        assert_eq!(describe_params(&schemars::schema_for!(NoParams)), "none");
    }

    #[test]
    fn no_params_accepts_null_and_empty_only() {
        assert!(serde_json::from_value::<NoParams>(Json::Null).is_ok());
        assert!(serde_json::from_value::<NoParams>(serde_json::json!({})).is_ok());
        let err = serde_json::from_value::<NoParams>(serde_json::json!({"a": 1})).unwrap_err();
        assert!(err.to_string().contains("takes no params"));
    }
}
