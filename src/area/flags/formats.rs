//! Flag formats besides flagd: OpenFeature CLI manifests and go-feature-flag
//! files (counted as their own format, never mistaken for flagd), and flag
//! providers configured in Kubernetes.

use super::section::*;
use super::{Fact, flagd};
use crate::document::{Document, Head, Sink, kubernetes_objects};
use crate::evidence::Location;
use crate::yaml::{Node, Pos, Value};

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
                let a = if t.starts_with(['a', 'i', 'o']) {
                    "an"
                } else {
                    "a"
                };
                Some((d.pos, format!("`defaultValue` is not {a} {t}")))
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
            set: None,
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
            set: None,
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
            } else if kind == "ConfigMap" {
                config_map(doc, object, out);
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

/// flagd definitions in a ConfigMap's `data` (how flagd's file provider is
/// usually mounted), validated as the file they become, at the manifest's
/// lines.
fn config_map(doc: &Document, object: &Node, out: &mut Sink<Fact>) {
    for (key, value) in object
        .get("data")
        .and_then(Node::as_map)
        .unwrap_or_default()
    {
        let Some(text) = value.as_str() else { continue };
        let lower = key.name.to_ascii_lowercase();
        let json = lower.ends_with(".json");
        if !(json || lower.ends_with(".yaml") || lower.ends_with(".yml"))
            || !super::is_flagd(&Head::new(text))
        {
            continue;
        }
        let inner = Document::new(doc.path.clone(), super::FLAGD, text);
        let mut found = Sink::default();
        flagd::definitions(&inner, json, &mut found);
        let shift = Shift::of(key.pos, value.pos);
        for mut fact in found.facts {
            match &mut fact {
                Fact::Source(s) => s.location = Location::at(&doc.path, key.pos),
                Fact::Flag(f) => shift.apply(&mut f.location),
                Fact::Violation(v) => shift.apply(&mut v.location),
                _ => {}
            }
            out.push(fact);
        }
        for mut p in found.problems {
            shift.apply(&mut p.location);
            out.problem(p);
        }
    }
}

/// From a position in an embedded text to the same place in the file: a
/// value that starts below its key (a block scalar, `|` or `>`) keeps its
/// lines, shifted, at its indentation; another scalar's places are all its
/// own position.
struct Shift {
    /// The file line of the text's line 1, and the text's indentation.
    block: Option<(u32, u32)>,
    at: Pos,
}

impl Shift {
    fn of(key: Pos, value: Pos) -> Self {
        Self {
            block: (value.line > key.line).then(|| (value.line, value.column.saturating_sub(1))),
            at: value,
        }
    }

    fn apply(&self, location: &mut Location) {
        match self.block {
            Some((first, indent)) => {
                location.line = first + location.line.saturating_sub(1);
                location.column += indent;
            }
            None => {
                location.line = self.at.line;
                location.column = self.at.column;
            }
        }
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
