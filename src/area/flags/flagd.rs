//! flagd / OpenFeature flag definitions, validated the way flagd does:
//! strict JSON, the official flag-definition schema (vendored in
//! `schemas/flagd/`), and what the schema cannot say (the default variant
//! exists, variants share a type, `$ref`s name evaluators, `fractional`
//! rollouts name variants and weigh something).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use jsonschema::Validator;
use serde_json::Value as Json;

use super::section::*;
use super::{Fact, violation};
use crate::document::{Document, Sink, unparseable};
use crate::evidence::Location;
use crate::schema;
use crate::yaml::{Node, Pos, Value};

/// The schema release vendored in `schemas/flagd/`.
pub const SCHEMA_VERSION: &str = "0.2.15";
const FLAGS_URI: &str = "https://flagd.dev/schema/v0/flags.json";
const TARGETING_URI: &str = "https://flagd.dev/schema/v0/targeting.json";
const FLAGS_SCHEMA: &str = include_str!("../../../schemas/flagd/flags.json");
const TARGETING_SCHEMA: &str = include_str!("../../../schemas/flagd/targeting.json");
/// Most schema violations listed per file; the first ones say enough.
const MAX_SCHEMA_VIOLATIONS: usize = 50;
/// Most flags and evaluators one file may have to be checked against the
/// schema, which bounds the validator's memory.
const MAX_SCHEMA_ITEMS: usize = 2_000;

/// Serves the vendored schemas; nothing is fetched.
struct Vendored;

impl jsonschema::Retrieve for Vendored {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Json, Box<dyn std::error::Error + Send + Sync>> {
        let text = match uri.as_str().split('#').next() {
            Some(FLAGS_URI) => FLAGS_SCHEMA,
            Some(TARGETING_URI) => TARGETING_SCHEMA,
            _ => return Err(format!("{uri} is not vendored").into()),
        };
        Ok(serde_json::from_str(text)?)
    }
}

/// `schema`, published at `base` (relative references resolve from it).
fn compile(schema: Json, base: &str) -> Validator {
    jsonschema::options()
        .with_base_uri(base)
        .with_retriever(Vendored)
        .build(&schema)
        .expect("the vendored flagd schema compiles")
}

fn definition(name: &str) -> Validator {
    compile(
        serde_json::json!({ "$ref": format!("{FLAGS_URI}#/definitions/{name}") }),
        "https://readygate.dev/schemas/flagd-entry.json",
    )
}

/// What providers accept: `flags` as a map.
static PROVIDER: LazyLock<Validator> = LazyLock::new(|| {
    compile(
        serde_json::from_str(FLAGS_SCHEMA).expect("vendored JSON"),
        FLAGS_URI,
    )
});
/// What the daemon accepts: `flags` as a map or an array of `{key, ...}`.
static DAEMON: LazyLock<Validator> = LazyLock::new(|| definition("flagdConfig"));
/// One flag's common shape, to say why a flag matches none of the typed
/// flag schemas (the schema's `anyOf` alone says only that).
static BASE_FLAG: LazyLock<Validator> = LazyLock::new(|| definition("baseFlag"));

/// A flagd file: every YAML document in it (JSON is one).
pub fn file(doc: &Document, out: &mut Sink<Fact>) {
    definitions(doc, doc.path.to_ascii_lowercase().ends_with(".json"), out);
}

/// flagd definitions in `doc.text`, JSON when `json` (flagd then parses
/// them strictly: the YAML reader below would accept comments and trailing
/// commas that take the flag service down).
pub fn definitions(doc: &Document, json: bool, out: &mut Sink<Fact>) {
    if json && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&doc.text) {
        out.push(violation(
            doc,
            ViolationKind::Syntax,
            Pos {
                line: e.line() as u32,
                column: e.column() as u32,
            },
            None,
            // The place is the finding's location, not repeated here.
            format!(
                "flagd rejects this file, it is not strict JSON: {}",
                e.to_string()
                    .rsplit_once(" at line ")
                    .map_or(e.to_string(), |(m, _)| m.to_string())
            ),
        ));
    }
    let nodes = match doc.yaml() {
        Ok(nodes) => nodes,
        Err(err) => return out.problem(unparseable(doc, err.pos, &err.message)),
    };
    // The source first: a file whose violations fill the per-file fact
    // budget still counts as flag definitions.
    let with_flags: Vec<&Node> = nodes.iter().filter(|n| n.get("flags").is_some()).collect();
    let count = with_flags
        .iter()
        .filter_map(|n| n.get("flags"))
        .map(|f| {
            f.as_map()
                .map_or_else(|| f.as_seq().map_or(0, <[Node]>::len), <[_]>::len)
        })
        .sum();
    out.push(super::formats::source(doc, FlagFormat::Flagd, count));
    for node in with_flags {
        config(doc, node, true, out);
    }
}

/// One flag configuration (`{flags, $evaluators, metadata}`): a file's
/// document, or an OpenFeature operator object's `flagSpec`. `validate`
/// checks it against the schema (an operator object has its own CRD).
/// Returns how many flags it defines.
pub fn config(doc: &Document, node: &Node, validate: bool, out: &mut Sink<Fact>) -> usize {
    let Some(flags) = node.get("flags") else {
        return 0;
    };
    let evaluators: BTreeMap<&str, &Node> = node
        .get("$evaluators")
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| (k.name.as_str(), v))
        .collect();
    // (key, key position, flag node, JSON pointer of the flag)
    let entries: Vec<(String, Pos, &Node, String)> = match &flags.untagged().value {
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| {
                (
                    k.name.clone(),
                    k.pos,
                    v,
                    format!("/flags/{}", escape(&k.name)),
                )
            })
            .collect(),
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let key = v.scalar_text_at("key")?;
                let pos = v.get("key").map_or(v.pos, |k| k.pos);
                Some((key, pos, v, format!("/flags/{i}")))
            })
            .collect(),
        _ => Vec::new(),
    };

    // A flag's own `flagSetId` wins over its file's.
    let set = node
        .path(&["metadata", "flagSetId"])
        .and_then(Node::scalar_text);
    let mut explained = BTreeSet::new();
    for (key, pos, flag, pointer) in &entries {
        if let Some((f, said)) = one_flag(doc, key, *pos, flag, set.as_deref(), &evaluators, out) {
            if said {
                explained.insert(pointer.clone());
            }
            out.push(Fact::Flag(f));
        }
    }
    check_evaluators(doc, &evaluators, out);

    let items = entries.len() + evaluators.len();
    if validate && items > MAX_SCHEMA_ITEMS {
        // The validator keeps every alternative's errors of every item
        // (18 KB an invalid evaluator): past this many, not run.
        out.push(violation(
            doc,
            ViolationKind::Schema,
            node.pos,
            None,
            format!(
                "{items} flags and evaluators in one file, over the {MAX_SCHEMA_ITEMS} checked against the schema; split the file to have it checked"
            ),
        ));
    } else if validate {
        let validator = if flags.as_seq().is_some() {
            &*DAEMON
        } else {
            &*PROVIDER
        };
        let json = node.to_json();
        let flag_at = |ptr: &str| entries.iter().find(|(_, _, _, p)| p == ptr);
        for v in schema::violations(
            validator,
            &Json::Null,
            node,
            &json,
            MAX_SCHEMA_VIOLATIONS,
            |p| explained.contains(p),
        ) {
            // A flag that matches no typed flag schema: say why, from the
            // common flag shape, when that finds the reason.
            let any_of = v.message.contains("anyOf");
            if let Some((key, _, flag, _)) = any_of.then(|| flag_at(&v.pointer)).flatten() {
                let reasons = schema::violations(
                    &BASE_FLAG,
                    &Json::Null,
                    flag,
                    &flag.to_json(),
                    MAX_SCHEMA_VIOLATIONS,
                    |_| false,
                );
                if !reasons.is_empty() {
                    for r in reasons {
                        out.push(violation(
                            doc,
                            ViolationKind::Schema,
                            r.pos,
                            Some(key),
                            format!("flag `{key}`: {}", readable(&r.key, &r.message)),
                        ));
                    }
                    continue;
                }
            }
            out.push(violation(
                doc,
                ViolationKind::Schema,
                v.pos,
                None,
                readable(&v.key, &v.message),
            ));
        }
    }
    entries.len()
}

fn readable(key: &str, message: &str) -> String {
    if key.is_empty() {
        message.to_string()
    } else {
        format!("`{key}`: {message}")
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn type_of(node: &Node) -> &'static str {
    match &node.untagged().value {
        Value::Bool(_) => "boolean",
        Value::Int(_) | Value::Float(_) => "number",
        Value::Str(_) => "string",
        Value::Map(_) => "object",
        Value::Null => "null",
        Value::Seq(_) => "array",
        Value::Tagged(..) => "tagged",
    }
}

fn one_flag(
    doc: &Document,
    key: &str,
    pos: Pos,
    flag: &Node,
    set: Option<&str>,
    evaluators: &BTreeMap<&str, &Node>,
    out: &mut Sink<Fact>,
) -> Option<(Flag, bool)> {
    flag.as_map()?;
    let variants: Vec<(&str, &Node)> = flag
        .get("variants")
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| (k.name.as_str(), v))
        .collect();
    let types: BTreeSet<&str> = variants.iter().map(|(_, v)| type_of(v)).collect();
    let variant_type = match types.len() {
        0 => None,
        1 => types.first().map(|t| t.to_string()),
        _ => {
            let listed: Vec<String> = variants
                .iter()
                .map(|(k, v)| format!("{k}: {}", type_of(v)))
                .collect();
            out.push(violation(
                doc,
                ViolationKind::VariantTypes,
                pos,
                Some(key),
                format!(
                    "flag `{key}` mixes variant types ({}); flagd needs one type per flag",
                    listed.join(", ")
                ),
            ));
            Some("mixed".to_string())
        }
    };
    let names: BTreeSet<&str> = variants.iter().map(|(k, _)| *k).collect();
    let default = flag.get("defaultVariant");
    if let Some(d) = default.and_then(Node::as_str)
        && !names.contains(d)
    {
        out.push(violation(
            doc,
            ViolationKind::DefaultVariant,
            default.map_or(pos, |n| n.pos),
            Some(key),
            if names.is_empty() {
                format!("flag `{key}`: defaultVariant `{d}` names no variant (the flag has none)")
            } else {
                format!(
                    "flag `{key}`: defaultVariant `{d}` names no variant (variants: {})",
                    names.iter().copied().collect::<Vec<_>>().join(", ")
                )
            },
        ));
    }
    let targeting = flag
        .get("targeting")
        .filter(|t| t.as_map().is_some_and(|m| !m.is_empty()));
    let mut rollout = Vec::new();
    // What the schema's `anyOf` would only call "not valid": said here,
    // so its message is left out.
    let mut explained = variant_type.as_deref() == Some("mixed");
    if let Some(t) = targeting {
        explained |= unknown_operator(doc, key, t, out);
        check_refs(doc, Some(key), t, evaluators, out);
        // The first fractional split, resolved through `$ref`s.
        let mut seen = BTreeSet::new();
        if let Some(split) = find_fractional(t, evaluators, &mut seen, 0) {
            rollout = fractional(doc, key, split, &names, out);
        }
    }
    let metadata = flag.get("metadata");
    let temporary = metadata
        .and_then(|m| m.get("temporary"))
        .is_some_and(|t| matches!(&t.value, Value::Bool(true)) || t.as_str() == Some("true"));
    let flag = Flag {
        key: key.to_string(),
        location: Location::at(&doc.path, pos),
        format: FlagFormat::Flagd,
        set: metadata
            .and_then(|m| m.scalar_text_at("flagSetId"))
            .or(set.map(str::to_string)),
        enabled: flag.str_at("state").map(|s| s == "ENABLED"),
        variants: names.iter().map(|s| s.to_string()).collect(),
        variant_type,
        default: default.and_then(Node::scalar_text),
        targeting: targeting.is_some(),
        rollout,
        temporary,
        kind: None,
    };
    Some((flag, explained))
}

/// The operators flagd's targeting schema knows (JSONLogic's and flagd's
/// own: `fractional`, `sem_ver`, `starts_with`, `ends_with`).
static OPERATORS: LazyLock<BTreeSet<String>> = LazyLock::new(|| {
    let schema: Json = serde_json::from_str(TARGETING_SCHEMA).expect("vendored JSON");
    let mut ops: BTreeSet<String> = schema["definitions"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, d)| d.get("properties")?.as_object())
        .flat_map(|p| p.keys().cloned())
        .collect();
    ops.insert("$ref".into());
    ops
});

/// The first operation in a targeting rule that flagd does not know (a
/// one-entry object is an operation in JSONLogic), reported with the
/// operator it was probably meant to be. Whether one was found.
fn unknown_operator(doc: &Document, key: &str, targeting: &Node, out: &mut Sink<Fact>) -> bool {
    let mut stack = vec![targeting];
    while let Some(node) = stack.pop() {
        match &node.untagged().value {
            Value::Map(entries) => {
                if let [(op, _)] = entries.as_slice()
                    && !OPERATORS.contains(&op.name)
                {
                    let hint = meant(&op.name)
                        .map(|m| format!(" (`{m}`?)"))
                        .unwrap_or_default();
                    out.push(violation(
                        doc,
                        ViolationKind::Schema,
                        op.pos,
                        Some(key),
                        format!(
                            "flag `{key}`: targeting uses operator `{}`{hint}, which flagd does not know; evaluation fails and the flag serves its default",
                            op.name
                        ),
                    ));
                    return true;
                }
                stack.extend(entries.iter().rev().map(|(_, v)| v));
            }
            Value::Seq(items) => stack.extend(items.iter().rev()),
            _ => {}
        }
    }
    false
}

/// A known operator `name` probably means: one it starts with or that
/// starts with it (`fractionalEvaluation`, flagd's former name), or the
/// same letters in another case or without `_` (`semVer`).
fn meant(name: &str) -> Option<&'static str> {
    let plain = |s: &str| s.replace('_', "").to_ascii_lowercase();
    OPERATORS
        .iter()
        .filter(|op| op.len() >= 3 && op.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
        .find(|op| {
            name.starts_with(op.as_str()) || op.starts_with(name) || plain(op) == plain(name)
        })
        .map(String::as_str)
}

/// Every `{"$ref": NAME}` under `node` names an evaluator.
fn check_refs(
    doc: &Document,
    flag: Option<&str>,
    node: &Node,
    evaluators: &BTreeMap<&str, &Node>,
    out: &mut Sink<Fact>,
) {
    each_ref(node, &mut |name, pos| {
        if !evaluators.contains_key(name) {
            let whose = flag.map_or(String::new(), |f| format!("flag `{f}`: "));
            out.push(violation(
                doc,
                ViolationKind::EvaluatorRef,
                pos,
                flag,
                format!("{whose}`$ref: {name}` names no entry of `$evaluators`"),
            ));
        }
    });
}

fn each_ref(node: &Node, f: &mut impl FnMut(&str, Pos)) {
    match &node.untagged().value {
        Value::Map(entries) => {
            for (k, v) in entries {
                match v.as_str() {
                    Some(name) if k.name == "$ref" => f(name, v.pos),
                    _ => each_ref(v, f),
                }
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| each_ref(i, f)),
        _ => {}
    }
}

/// Evaluators may refer to each other, never in a cycle (flagd would
/// substitute forever or refuse the file), and only to ones that exist.
fn check_evaluators(doc: &Document, evaluators: &BTreeMap<&str, &Node>, out: &mut Sink<Fact>) {
    let mut edges: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, body) in evaluators {
        check_refs(doc, None, body, evaluators, out);
        let mut refs = Vec::new();
        each_ref(body, &mut |r, _| refs.push(r.to_string()));
        edges.insert(name, refs);
    }
    // Depth-first, iterative: evaluators are few, but written by anyone.
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for start in evaluators.keys() {
        let mut path: Vec<&str> = Vec::new();
        // The same names as `path`, for a lookup that does not scan it.
        let mut on_path: BTreeSet<&str> = BTreeSet::new();
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        while let Some((at, i)) = stack.pop() {
            if i == 0 {
                if done.contains(at) {
                    continue;
                }
                path.push(at);
                on_path.insert(at);
            }
            let next = edges.get(at).and_then(|e| e.get(i));
            match next {
                Some(n) => {
                    stack.push((at, i + 1));
                    if on_path.contains(n.as_str())
                        && let Some(p) = path.iter().position(|x| *x == n.as_str())
                    {
                        let cycle = path[p..].join(" → ");
                        let pos = evaluators.get(at).map_or(Pos::default(), |b| b.pos);
                        out.push(violation(
                            doc,
                            ViolationKind::EvaluatorRef,
                            pos,
                            None,
                            format!("`$evaluators` refer to each other in a cycle: {cycle} → {n}"),
                        ));
                        continue;
                    }
                    if let Some((name, _)) = evaluators.get_key_value(n.as_str()) {
                        stack.push((name, 0));
                    }
                }
                None => {
                    done.insert(at);
                    if let Some(last) = path.pop() {
                        on_path.remove(last);
                    }
                }
            }
        }
    }
}

/// The first `fractional` operation in a targeting rule, following `$ref`s
/// into evaluators (each at most once).
fn find_fractional<'n>(
    node: &'n Node,
    evaluators: &BTreeMap<&str, &'n Node>,
    seen: &mut BTreeSet<String>,
    depth: usize,
) -> Option<&'n Node> {
    if depth > 64 {
        return None;
    }
    match &node.untagged().value {
        Value::Map(entries) => entries.iter().find_map(|(k, v)| match k.name.as_str() {
            "fractional" => Some(v),
            "$ref" => {
                let name = v.as_str()?;
                if !seen.insert(name.to_string()) {
                    return None;
                }
                find_fractional(evaluators.get(name)?, evaluators, seen, depth + 1)
            }
            _ => find_fractional(v, evaluators, seen, depth + 1),
        }),
        Value::Seq(items) => items
            .iter()
            .find_map(|i| find_fractional(i, evaluators, seen, depth + 1)),
        _ => None,
    }
}

/// A `fractional` split's `[variant, weight]` buckets (a first item that is
/// not a bucket is the bucketing expression). Literal variants must exist;
/// the weights must add up to something.
fn fractional(
    doc: &Document,
    key: &str,
    split: &Node,
    variants: &BTreeSet<&str>,
    out: &mut Sink<Fact>,
) -> Vec<(String, u64)> {
    let mut buckets = Vec::new();
    let mut computed = false;
    for bucket in split.as_seq().unwrap_or_default() {
        let Some(items) = bucket.as_seq() else {
            continue; // the bucketing expression
        };
        let Some(first) = items.first() else {
            continue;
        };
        let weight = match items.get(1).map(|w| &w.untagged().value) {
            None => Some(1),
            Some(Value::Int(w)) => u64::try_from(*w).ok(),
            Some(_) => {
                computed = true; // a JSONLogic weight, decided at evaluation
                None
            }
        };
        match first.as_str() {
            Some(name) => {
                if !variants.contains(name) {
                    out.push(violation(
                        doc,
                        ViolationKind::Fractional,
                        first.pos,
                        Some(key),
                        format!("flag `{key}`: the fractional rollout names variant `{name}`, which the flag does not define"),
                    ));
                }
                if let Some(w) = weight {
                    buckets.push((name.to_string(), w));
                }
            }
            None => computed = true, // a JSONLogic variant
        }
    }
    if !computed && !buckets.is_empty() && buckets.iter().all(|(_, w)| *w == 0) {
        out.push(violation(
            doc,
            ViolationKind::Fractional,
            split.pos,
            Some(key),
            format!("flag `{key}`: every bucket of the fractional rollout weighs 0"),
        ));
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_schemas_compile_offline() {
        let ok = serde_json::json!({"flags": {"f": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}}});
        assert!(PROVIDER.is_valid(&ok));
        assert!(DAEMON.is_valid(&ok));
        let array = serde_json::json!({"flags": [{"key": "f", "state": "ENABLED", "variants": {"on": true}}]});
        assert!(!PROVIDER.is_valid(&array));
        assert!(DAEMON.is_valid(&array));
        assert!(!BASE_FLAG.is_valid(&serde_json::json!({"variants": {"on": true}})));
    }

    #[test]
    fn an_unknown_operator_is_matched_to_the_one_meant() {
        assert_eq!(meant("fractionalEvaluation"), Some("fractional"));
        assert_eq!(meant("semVer"), Some("sem_ver"));
        assert_eq!(meant("startsWith"), Some("starts_with"));
        assert_eq!(meant("regex"), None);
        // Short operators (`in`, `if`, `or`) are never guessed.
        assert_eq!(meant("inside"), None);
        assert!(OPERATORS.contains("fractional") && OPERATORS.contains("$ref"));
    }
}
