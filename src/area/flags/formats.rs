//! Flag formats besides flagd: OpenFeature CLI manifests and go-feature-flag
//! files (counted as their own format, never mistaken for flagd), and flag
//! providers configured in Kubernetes.

use super::section::*;
use super::{Fact, flagd};
use crate::document::{Document, Sink, kubernetes_objects};
use crate::evidence::Location;
use crate::yaml::{Node, Value};

/// An OpenFeature CLI manifest: `flags: {KEY: {flagType, defaultValue}}`.
/// The default must have the declared type.
pub fn openfeature_manifest(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    let mut count = 0;
    for (key, flag) in node.get("flags").and_then(Node::as_map).unwrap_or_default() {
        let flag_type = flag.str_at("flagType");
        let default = flag.get("defaultValue");
        let wrong = match (flag_type, default) {
            (None, _) => Some((key.pos, "has no `flagType`".to_string())),
            (Some(t), _) if !MANIFEST_TYPES.contains(&t) => Some((
                flag.get("flagType").map_or(key.pos, |n| n.pos),
                format!(
                    "`flagType: {t}` is not one of {}",
                    MANIFEST_TYPES.join(", ")
                ),
            )),
            (Some(_), None) => Some((key.pos, "has no `defaultValue`".to_string())),
            (Some(t), Some(d)) if !has_type(t, d) => {
                Some((d.pos, format!("`defaultValue` is not a {t}")))
            }
            _ => None,
        };
        if let Some((pos, what)) = wrong {
            out.push(super::violation(
                doc,
                ViolationKind::Schema,
                pos,
                Some(&key.name),
                format!("flag `{}`: {what}", key.name),
            ));
        }
        count += 1;
        out.push(Fact::Flag(Flag {
            key: key.name.clone(),
            location: Location::at(&doc.path, key.pos),
            format: FlagFormat::OpenfeatureManifest,
            enabled: None,
            variants: Vec::new(),
            variant_type: flag_type.map(str::to_string),
            default: default.and_then(Node::scalar_text),
            targeting: false,
            rollout: Vec::new(),
            temporary: false,
            kind: None,
        }));
    }
    out.push(source(doc, FlagFormat::OpenfeatureManifest, count));
}

const MANIFEST_TYPES: &[&str] = &["boolean", "string", "integer", "float", "object"];

fn has_type(flag_type: &str, value: &Node) -> bool {
    matches!(
        (flag_type, &value.untagged().value),
        ("boolean", Value::Bool(_))
            | ("string", Value::Str(_))
            | ("integer", Value::Int(_))
            | ("float", Value::Int(_) | Value::Float(_))
            | ("object", Value::Map(_))
    )
}

pub fn source(doc: &Document, format: FlagFormat, flags: usize) -> Fact {
    Fact::Source(FlagSource {
        location: Location::new(&doc.path, 1, 1),
        format,
        flags,
    })
}

/// A go-feature-flag file: top-level keys are flags with `variations` and a
/// `defaultRule` (a variation or a percentage split).
pub fn go_feature_flag(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    let mut count = 0;
    for (key, flag) in node.as_map().unwrap_or_default() {
        let Some(variations) = flag.get("variations").and_then(Node::as_map) else {
            continue;
        };
        let rule = flag.get("defaultRule");
        let rollout: Vec<(String, u64)> = rule
            .and_then(|r| r.get("percentage"))
            .and_then(Node::as_map)
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, v)| {
                let pct = match &v.value {
                    Value::Int(i) => *i as f64,
                    Value::Float(f) => *f,
                    _ => return None,
                };
                Some((k.name.clone(), (pct.max(0.0) * 1000.0) as u64))
            })
            .collect();
        count += 1;
        out.push(Fact::Flag(Flag {
            key: key.name.clone(),
            location: Location::at(&doc.path, key.pos),
            format: FlagFormat::GoFeatureFlag,
            enabled: Some(!matches!(
                flag.get("disable").map(|d| &d.value),
                Some(Value::Bool(true))
            )),
            variants: variations.iter().map(|(k, _)| k.name.clone()).collect(),
            variant_type: None,
            default: rule.and_then(|r| r.scalar_text_at("variation")),
            targeting: flag.get("targeting").is_some(),
            rollout,
            temporary: false,
            kind: None,
        }));
    }
    out.push(source(doc, FlagFormat::GoFeatureFlag, count));
}

/// The OpenFeature operator's objects (their flags are flagd flags), and
/// containers that run flagd.
pub fn kubernetes(doc: &Document, out: &mut Sink<Fact>) {
    for node in doc.yaml().unwrap_or_default() {
        kubernetes_objects(node, &mut |object, api_version, kind| {
            let name = object
                .path(&["metadata", "name"])
                .and_then(Node::scalar_text);
            if api_version.starts_with("core.openfeature.dev/") {
                out.push(Fact::Provider(FlagProvider {
                    location: Location::at(&doc.path, object.pos),
                    kind: kind.clone(),
                    name,
                }));
                if let Some(spec) = object.path(&["spec", "flagSpec"]) {
                    // The operator's CRD validates the object; the flags
                    // in it are judged like any other flagd flags.
                    let n = flagd::config(doc, spec, false, out);
                    out.push(source(doc, FlagFormat::Flagd, n));
                }
            } else if runs_flagd(object, 0) {
                out.push(Fact::Provider(FlagProvider {
                    location: Location::at(&doc.path, object.pos),
                    kind: "flagd container".into(),
                    name,
                }));
            }
        });
    }
}

/// A container image of flagd anywhere in the object.
fn runs_flagd(node: &Node, depth: usize) -> bool {
    if depth > 32 {
        return false;
    }
    match &node.untagged().value {
        Value::Map(entries) => entries.iter().any(|(k, v)| {
            (k.name == "image" && v.as_str().is_some_and(|i| i.contains("open-feature/flagd")))
                || runs_flagd(v, depth + 1)
        }),
        Value::Seq(items) => items.iter().any(|i| runs_flagd(i, depth + 1)),
        _ => false,
    }
}
