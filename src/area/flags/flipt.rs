//! Flipt declarative flag files: `features.yml` / `*.features.yml` (format
//! versions 1.0 to 1.6, one namespace per YAML document), named by Flipt's
//! default layout or by a `.flipt.yml` index (`include` / `exclude` globs).
//! Validated as Flipt's importer would: keys match `^[-_,A-Za-z0-9]+$`,
//! `name` is required, a rule's distributions add up to at most 100 and
//! name variants the flag has, segments referenced exist in the namespace.

use std::collections::BTreeSet;

use super::Fact;
use super::section::*;
use crate::document::{DocKind, Document, Named, Sink, normalize, parent_dir, unparseable};
use crate::evidence::Location;
use crate::yaml::{Node, Pos, Value};

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_,".contains(c))
}

/// What Flipt's importer refuses.
fn violation(doc: &Document, pos: Pos, flag: Option<&str>, message: String) -> Fact {
    super::violation(doc, ViolationKind::Schema, pos, flag, message)
}

/// A `features.yml`: every document is one namespace.
pub fn file(doc: &Document, out: &mut Sink<Fact>) {
    let nodes = match doc.yaml() {
        Ok(nodes) => nodes,
        Err(err) => return out.problem(unparseable(doc, err.pos, &err.message)),
    };
    let count = nodes
        .iter()
        .filter_map(|n| n.get("flags").and_then(Node::as_seq))
        .map(<[Node]>::len)
        .sum();
    // The source first, so a file over the fact budget still counts.
    out.push(super::formats::source(doc, FlagFormat::Flipt, count));
    for node in nodes.iter().filter(|n| n.is_map()) {
        namespace(doc, node, out);
    }
}

fn namespace(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    if let Some(v) = node.get("version")
        && let Some(text) = v.scalar_text()
        && !matches!(
            text.as_str(),
            "1.0" | "1.1" | "1.2" | "1.3" | "1.4" | "1.5" | "1.6" | "1"
        )
    {
        out.push(violation(
            doc,
            v.pos,
            None,
            format!(
                "`version: {text}` is not a Flipt features format this check knows (1.0 to 1.6)"
            ),
        ));
    }
    // `namespace: KEY`, or `namespace: {key: KEY, ...}` since 1.2.
    let ns = node
        .get("namespace")
        .and_then(|n| n.scalar_text().or_else(|| n.scalar_text_at("key")))
        .unwrap_or_else(|| "default".to_string());
    // Flipt merges every file of a namespace: segments are resolved when
    // the area assembles, across files.
    let keys: Vec<String> = node
        .get("segments")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.scalar_text_at("key"))
        .collect();
    if !keys.is_empty() {
        out.push(Fact::FliptSegments(FliptSegments {
            path: doc.path.clone(),
            namespace: ns.clone(),
            keys,
        }));
    }
    let flags = node.get("flags").and_then(Node::as_seq).unwrap_or_default();
    for flag in flags {
        one_flag(doc, flag, &ns, out);
    }
}

fn one_flag(doc: &Document, flag: &Node, namespace: &str, out: &mut Sink<Fact>) {
    let key = flag.scalar_text_at("key").unwrap_or_default();
    let pos = flag.get("key").map_or(flag.pos, |k| k.pos);
    let label = (!key.is_empty()).then_some(key.as_str());
    if !valid_key(&key) {
        out.push(violation(
            doc,
            pos,
            label,
            format!("flag key `{key}` must match ^[-_,A-Za-z0-9]+$"),
        ));
    }
    if flag.scalar_text_at("name").is_none_or(|n| n.is_empty()) {
        out.push(violation(
            doc,
            pos,
            label,
            format!("flag `{key}` has no `name`, which Flipt requires"),
        ));
    }
    let boolean = flag.str_at("type") == Some("BOOLEAN_FLAG_TYPE");
    let variants: BTreeSet<String> = flag
        .get("variants")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.scalar_text_at("key"))
        .collect();
    let mut rollout = Vec::new();
    let mut targeting = false;
    for rule in flag.get("rules").and_then(Node::as_seq).unwrap_or_default() {
        segment_refs(doc, &key, namespace, rule, out);
        targeting = true;
        let mut total = 0i64;
        for d in rule
            .get("distributions")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let variant = d.scalar_text_at("variant").unwrap_or_default();
            if !variants.contains(&variant) {
                out.push(violation(
                    doc,
                    d.get("variant").map_or(d.pos, |v| v.pos),
                    label,
                    format!("flag `{key}`: a distribution names variant `{variant}`, which the flag does not define"),
                ));
            }
            let share = match d.get("rollout").map(|r| &r.value) {
                Some(Value::Int(i)) => *i as f64,
                Some(Value::Float(f)) => *f,
                _ => 0.0,
            };
            total += (share * 1000.0) as i64;
        }
        if total > 100_000 {
            out.push(violation(
                doc,
                rule.pos,
                label,
                format!(
                    "flag `{key}`: the rule's distributions add up to {}%, over 100%",
                    total as f64 / 1000.0
                ),
            ));
        }
    }
    for r in flag
        .get("rollouts")
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        if r.get("segment").is_some() {
            segment_refs(doc, &key, namespace, r, out);
            targeting = true;
        }
        if let Some(t) = r.get("threshold") {
            let pct = match t.get("percentage").map(|p| &p.value) {
                Some(Value::Int(i)) => *i as f64,
                Some(Value::Float(f)) => *f,
                _ => 0.0,
            };
            if !(0.0..=100.0).contains(&pct) {
                out.push(violation(
                    doc,
                    t.pos,
                    label,
                    format!("flag `{key}`: threshold percentage {pct} is outside 0 to 100"),
                ));
            }
            let value = t.get("value").map(|v| matches!(v.value, Value::Bool(true)));
            let served = if value == Some(false) {
                "false"
            } else {
                "true"
            };
            rollout.push((served.to_string(), (pct * 1000.0) as u64));
            let rest = 100_000u64.saturating_sub((pct * 1000.0) as u64);
            if rest > 0 {
                let other = if served == "true" { "false" } else { "true" };
                rollout.push((other.to_string(), rest));
            }
        }
    }
    let metadata = flag.get("metadata");
    out.push(Fact::Flag(Flag {
        key: key.clone(),
        location: Location::at(&doc.path, pos),
        format: FlagFormat::Flipt,
        set: Some(namespace.to_string()),
        enabled: Some(matches!(
            flag.get("enabled").map(|e| &e.value),
            Some(Value::Bool(true))
        )),
        variants: if boolean {
            vec!["true".into(), "false".into()]
        } else {
            variants.into_iter().collect()
        },
        variant_type: Some(if boolean { "boolean" } else { "string" }.to_string()),
        default: flag.scalar_text_at("default_variant"),
        targeting,
        rollout,
        temporary: metadata
            .and_then(|m| m.get("temporary"))
            .is_some_and(|t| matches!(t.value, Value::Bool(true)) || t.as_str() == Some("true")),
        kind: None,
    }));
}

/// Segments one file defines in a namespace.
pub struct FliptSegments {
    pub path: String,
    pub namespace: String,
    pub keys: Vec<String>,
}

/// A segment a rule or rollout refers to, with the violation to report if
/// no file of its namespace defines it.
pub struct SegmentRef {
    pub namespace: String,
    pub segment: String,
    pub missing: FlagViolation,
}

/// The segments a rule or rollout refers to, for the area to look up.
fn segment_refs(doc: &Document, key: &str, namespace: &str, node: &Node, out: &mut Sink<Fact>) {
    let Some(segment) = node.get("segment") else {
        return;
    };
    let mut keys: Vec<(String, Pos)> = Vec::new();
    match &segment.untagged().value {
        Value::Str(k) => keys.push((k.clone(), segment.pos)),
        Value::Map(_) => {
            if let Some(k) = segment.get("key")
                && let Some(t) = k.scalar_text()
            {
                keys.push((t, k.pos));
            }
            for k in segment
                .get("keys")
                .and_then(Node::as_seq)
                .unwrap_or_default()
            {
                if let Some(t) = k.scalar_text() {
                    keys.push((t, k.pos));
                }
            }
        }
        _ => {}
    }
    for (k, at) in keys {
        out.push(Fact::FliptSegmentRef(SegmentRef {
            namespace: namespace.to_string(),
            missing: FlagViolation {
                kind: ViolationKind::Schema,
                location: Location::at(&doc.path, at),
                flag: Some(key.to_string()),
                message: format!(
                    "flag `{key}` refers to segment `{k}`, which no file of namespace `{namespace}` defines"
                ),
            },
            segment: k,
        }));
    }
}

/// The references no kept file of their namespace answers.
pub fn missing_segments(
    defined: &[FliptSegments],
    refs: Vec<SegmentRef>,
    kept: impl Fn(&str) -> bool,
) -> Vec<FlagViolation> {
    let mut known: BTreeSet<(&str, &str)> = BTreeSet::new();
    for d in defined.iter().filter(|d| kept(&d.path)) {
        known.extend(d.keys.iter().map(|k| (d.namespace.as_str(), k.as_str())));
    }
    refs.into_iter()
        .filter(|r| {
            kept(&r.missing.location.path)
                && !known.contains(&(r.namespace.as_str(), r.segment.as_str()))
        })
        .map(|r| r.missing)
        .collect()
}

/// A `.flipt.yml` index: its `include` globs name the flag files, its
/// `exclude` globs take some away (applied when the area assembles).
pub fn index(doc: &Document, kind: DocKind, out: &mut Sink<Fact>) {
    let dir = parent_dir(&doc.path);
    doc.each_yaml(out, |node, out| {
        for (list, include) in [("include", true), ("exclude", false)] {
            for entry in node.get(list).and_then(Node::as_seq).unwrap_or_default() {
                let Some(pattern) = entry.scalar_text() else {
                    continue;
                };
                let Some(pattern) = normalize(&dir, &pattern) else {
                    continue;
                };
                // Only YAML and JSON flag files: `**/*` must not make every
                // file in the tree a Flipt file.
                let flag_file = [".yml", ".yaml", ".json"]
                    .iter()
                    .any(|e| pattern.ends_with(e));
                if include && flag_file {
                    out.name(Named {
                        by: Location::at(&doc.path, entry.pos),
                        pattern,
                        kind,
                    });
                } else {
                    out.push(Fact::Excluded(pattern));
                }
            }
        }
    });
}
