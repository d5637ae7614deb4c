//! Unleash exports (`features`, `featureStrategies`, `featureEnvironments`):
//! each feature with its type (`release` and `experiment` are temporary by
//! Unleash's own definition), `stale` and `archived` marks, and whether
//! some environment serves it to everyone. Both shapes: the state export
//! (`/api/admin/state/export`: strategies with `strategyName` and
//! `environment`) and the environment export of Unleash 4.22 and later
//! (strategies with `name`, no `environment`: all of one environment).

use std::collections::BTreeMap;

use super::Fact;
use super::section::*;
use crate::document::Document;
use crate::document::Sink;
use crate::evidence::Location;
use crate::yaml::{Node, Value};

/// One environment's strategies for a feature: whether they serve it to
/// everyone (a `default` strategy, or a 100% rollout with no constraints).
#[derive(Default)]
struct Served {
    everyone: bool,
    targeted: bool,
    rollout: Option<u64>,
}

pub fn export(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    let list = |key: &str| node.get(key).and_then(Node::as_seq).unwrap_or_default();
    // feature → environment → what its strategies serve
    let mut strategies: BTreeMap<String, BTreeMap<String, Served>> = BTreeMap::new();
    for s in list("featureStrategies") {
        // A disabled strategy serves no one.
        if matches!(s.get("disabled").map(|d| &d.value), Some(Value::Bool(true))) {
            continue;
        }
        // No `environment`: the environment export's one environment,
        // stored under "" and found by any environment below.
        let (Some(feature), env) = (
            s.scalar_text_at("featureName"),
            s.scalar_text_at("environment").unwrap_or_default(),
        ) else {
            continue;
        };
        let served = strategies
            .entry(feature)
            .or_default()
            .entry(env)
            .or_default();
        let constrained = s
            .get("constraints")
            .and_then(Node::as_seq)
            .is_some_and(|c| !c.is_empty());
        let rollout = s
            .path(&["parameters", "rollout"])
            .and_then(Node::scalar_text)
            .and_then(|r| r.parse::<f64>().ok());
        let name = s.str_at("strategyName").or_else(|| s.str_at("name"));
        match (name, rollout) {
            (Some("default"), _) if !constrained => served.everyone = true,
            (Some("flexibleRollout" | "gradualRolloutRandom"), Some(r)) if !constrained => {
                if r >= 100.0 {
                    served.everyone = true;
                }
                served.rollout = Some((r * 1000.0) as u64);
            }
            _ => served.targeted = true,
        }
    }
    let mut enabled: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in list("featureEnvironments") {
        if let (Some(f), Some(env), Some(Value::Bool(true))) = (
            e.scalar_text_at("featureName"),
            e.scalar_text_at("environment"),
            e.get("enabled").map(|v| &v.value),
        ) {
            enabled.entry(f).or_default().push(env);
        }
    }
    let features = list("features");
    out.push(super::formats::source(
        doc,
        FlagFormat::Unleash,
        features.len(),
    ));
    let mut seen = std::collections::BTreeSet::new();
    for f in features {
        let Some(name) = f.scalar_text_at("name") else {
            continue;
        };
        // A name exported twice is one feature (and no cost per copy).
        if !seen.insert(name.clone()) {
            continue;
        }
        let pos = f.get("name").map_or(f.pos, |n| n.pos);
        let envs: &[String] = enabled.get(&name).map_or(&[], Vec::as_slice);
        let by_env = strategies.get(&name);
        let served = |env: &str| by_env.and_then(|m| m.get(env).or_else(|| m.get("")));
        let everyone = !envs.is_empty()
            && envs
                .iter()
                .all(|e| served(e).is_some_and(|s| s.everyone && !s.targeted));
        let targeting = envs.iter().any(|e| served(e).is_some_and(|s| s.targeted));
        let rollout = match envs.iter().find_map(|e| served(e)?.rollout) {
            _ if everyone => vec![("on".to_string(), 100_000)],
            Some(r) => vec![
                ("on".to_string(), r),
                ("off".to_string(), 100_000 - r.min(100_000)),
            ],
            None => Vec::new(),
        };
        let kind = f.str_at("type");
        let flag_true = |k: &str| matches!(f.get(k).map(|v| &v.value), Some(Value::Bool(true)));
        out.push(Fact::Flag(Flag {
            key: name,
            location: Location::at(&doc.path, pos),
            format: FlagFormat::Unleash,
            set: f.scalar_text_at("project"),
            enabled: Some(!envs.is_empty() && !flag_true("archived")),
            variants: Vec::new(),
            variant_type: Some("boolean".to_string()),
            default: None,
            targeting,
            rollout,
            temporary: matches!(kind, Some("release" | "experiment")) || flag_true("stale"),
            kind: kind.map(str::to_string),
        }));
    }
}
