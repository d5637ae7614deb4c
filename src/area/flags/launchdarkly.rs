//! LaunchDarkly flags managed in Terraform: `launchdarkly_feature_flag`
//! (key, variation type, variations, defaults, `temporary`, `archived`) and
//! `launchdarkly_feature_flag_environment` (on, fallthrough variation or
//! `rollout_weights` out of 100 000, off variation, rules, targets), in both
//! block (`fallthrough { ... }`) and attribute (`fallthrough = { ... }`)
//! syntax. The flag and its environments join after the walk, by resource
//! name.

use hcl_edit::Span;
use hcl_edit::expr::{Expression, Object, ObjectKey};
use hcl_edit::structure::{Block, Body};

use super::Fact;
use super::section::*;
use crate::document::{Document, Sink, block_label};
use crate::evidence::Location;

/// One flag resource, before its environments are joined.
#[derive(Debug)]
pub struct LdFlag {
    pub resource: String,
    pub flag: Flag,
    /// Variation values in order, as written.
    pub values: Vec<String>,
}

/// One environment of a flag.
#[derive(Debug)]
pub struct LdEnvironment {
    /// The flag resource it configures (`launchdarkly_feature_flag.NAME.id`).
    pub flag_resource: Option<String>,
    pub location: Location,
    pub on: bool,
    pub targeted: bool,
    /// `(variation index, weight out of 100 000)`.
    pub fallthrough: Vec<(usize, u64)>,
}

/// A field of a block: a nested block `name { ... }` or an attribute
/// `name = { ... }` / `name = [{ ... }]`.
enum Field<'a> {
    Block(&'a Body),
    Object(&'a Object),
}

fn fields<'a>(body: &'a Body, name: &'a str) -> Vec<Field<'a>> {
    let mut out: Vec<Field> = body
        .get_blocks(name)
        .map(|b| Field::Block(&b.body))
        .collect();
    match body.get_attribute(name).map(|a| &a.value) {
        Some(Expression::Object(o)) => out.push(Field::Object(o)),
        Some(Expression::Array(items)) => out.extend(
            items
                .iter()
                .filter_map(|i| i.as_object().map(Field::Object)),
        ),
        _ => {}
    }
    out
}

impl Field<'_> {
    fn get(&self, key: &str) -> Option<&Expression> {
        match self {
            Field::Block(b) => b.get_attribute(key).map(|a| &a.value),
            Field::Object(o) => o.iter().find_map(|(k, v)| {
                let name = match k {
                    ObjectKey::Ident(i) => i.as_str().to_string(),
                    ObjectKey::Expression(e) => e.as_str()?.to_string(),
                };
                (name == key).then(|| v.expr())
            }),
        }
    }
}

fn number(e: Option<&Expression>) -> Option<u64> {
    e?.as_number()?.as_u64()
}

fn text(e: &Expression) -> Option<String> {
    match e {
        Expression::String(s) => Some(s.as_str().to_string()),
        Expression::Bool(b) => Some(b.to_string()),
        Expression::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn terraform(doc: &Document, out: &mut Sink<Fact>) {
    let Ok(hcl) = doc.hcl() else {
        return; // the area that owns Terraform reports parse failures
    };
    let at = |block: &Block| Location::at(&doc.path, hcl.pos(block.span().map_or(0, |s| s.start)));
    for block in hcl.body.blocks().filter(|b| b.ident.as_str() == "resource") {
        let resource = block_label(block, 1).unwrap_or_default();
        match block_label(block, 0).as_deref() {
            Some("launchdarkly_feature_flag") => {
                let body = &block.body;
                let key_attr = body.get_attribute("key");
                let key = key_attr
                    .and_then(|a| a.value.as_str())
                    .map_or_else(|| resource.clone(), str::to_string);
                let location = match key_attr.and_then(|a| a.span()) {
                    Some(s) => Location::at(&doc.path, hcl.pos(s.start)),
                    None => at(block),
                };
                let values: Vec<String> = fields(body, "variations")
                    .iter()
                    .filter_map(|v| v.get("value").and_then(text))
                    .collect();
                let defaults = fields(body, "defaults");
                let on_variation = defaults.first().and_then(|d| number(d.get("on_variation")));
                let flag_bool = |k: &str| body.get_attribute(k).and_then(|a| a.value.as_bool());
                let variation_type = body
                    .get_attribute("variation_type")
                    .and_then(|a| a.value.as_str())
                    .map(str::to_string);
                for (what, index) in [
                    ("defaults.on_variation", on_variation),
                    (
                        "defaults.off_variation",
                        defaults
                            .first()
                            .and_then(|d| number(d.get("off_variation"))),
                    ),
                ] {
                    if let Some(i) = index
                        && !values.is_empty()
                        && i as usize >= values.len()
                    {
                        out.push(Fact::Violation(FlagViolation {
                            kind: ViolationKind::DefaultVariant,
                            location: location.clone(),
                            flag: Some(key.clone()),
                            message: format!(
                                "flag `{key}`: {what} is {i}, but the flag has {} variations",
                                values.len()
                            ),
                        }));
                    }
                }
                out.push(Fact::LaunchDarklyFlag(LdFlag {
                    resource: resource.clone(),
                    flag: Flag {
                        key,
                        location,
                        format: FlagFormat::Launchdarkly,
                        // As written: usually a reference to a project
                        // resource, the same text for the same project.
                        set: body
                            .get_attribute("project_key")
                            .and_then(|a| a.value.span())
                            .map(|s| doc.text[s].trim().to_string()),
                        enabled: None,
                        variants: values.clone(),
                        variant_type: variation_type,
                        default: on_variation.and_then(|i| values.get(i as usize).cloned()),
                        targeting: false,
                        rollout: Vec::new(),
                        temporary: flag_bool("temporary") == Some(true),
                        kind: None,
                    },
                    values,
                }));
            }
            Some("launchdarkly_feature_flag_environment") => {
                let body = &block.body;
                // `launchdarkly_feature_flag.NAME.id`, as written.
                let flag_resource = body
                    .get_attribute("flag_id")
                    .and_then(|a| a.value.span())
                    .map(|s| &doc.text[s])
                    .and_then(|raw| {
                        raw.trim()
                            .strip_prefix("launchdarkly_feature_flag.")?
                            .split('.')
                            .next()
                            .map(str::to_string)
                    });
                let location = at(block);
                let on = body.get_attribute("on").and_then(|a| a.value.as_bool()) == Some(true);
                let targeted = !fields(body, "rules").is_empty()
                    || !fields(body, "targets").is_empty()
                    || !fields(body, "context_targets").is_empty();
                let mut fallthrough = Vec::new();
                if let Some(f) = fields(body, "fallthrough").first() {
                    match f.get("rollout_weights") {
                        Some(Expression::Array(weights)) => {
                            let weights: Vec<u64> =
                                weights.iter().filter_map(|w| number(Some(w))).collect();
                            let total: u64 = weights.iter().sum();
                            if total != 100_000 {
                                out.push(Fact::Violation(FlagViolation {
                                    kind: ViolationKind::Fractional,
                                    location: location.clone(),
                                    flag: flag_resource.clone(),
                                    message: format!(
                                        "fallthrough rollout_weights add up to {total}; LaunchDarkly needs 100000"
                                    ),
                                }));
                            }
                            fallthrough = weights.into_iter().enumerate().collect();
                        }
                        _ => {
                            if let Some(v) = number(f.get("variation")) {
                                fallthrough = vec![(v as usize, 100_000)];
                            }
                        }
                    }
                }
                out.push(Fact::LaunchDarklyEnvironment(LdEnvironment {
                    flag_resource,
                    location,
                    on,
                    targeted,
                    fallthrough,
                }));
            }
            _ => {}
        }
    }
}

/// A flag with its environments joined: enabled when every environment
/// is on, targeted when any has rules or targets, and the rollout of the
/// first environment's fallthrough, by variation value.
pub fn join(mut flag: LdFlag, envs: &[&LdEnvironment]) -> Flag {
    if envs.is_empty() {
        return flag.flag;
    }
    flag.flag.enabled = Some(envs.iter().all(|e| e.on));
    flag.flag.targeting = envs.iter().any(|e| e.targeted);
    let value = |i: usize| flag.values.get(i).cloned().unwrap_or_else(|| i.to_string());
    // The rollout is what every environment serves, when they agree.
    let first: Vec<(String, u64)> = envs[0]
        .fallthrough
        .iter()
        .map(|(i, w)| (value(*i), *w))
        .collect();
    if envs.iter().all(|e| {
        e.fallthrough
            .iter()
            .map(|(i, w)| (value(*i), *w))
            .eq(first.iter().cloned())
    }) {
        flag.flag.rollout = first;
    }
    flag.flag
}
