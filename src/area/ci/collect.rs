//! CI presence: GitHub Actions workflows and GitLab CI pipelines.

use super::Fact;
use super::section::CiPipeline;
use crate::document::{Document, Sink, malformed};
use crate::evidence::Location;
use crate::yaml::{Node, Value};

/// GitLab top-level keys that are settings, not jobs.
const GITLAB_RESERVED: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "spec",
];

pub fn github_workflow(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    if !node.is_map() {
        out.problem(malformed(
            doc,
            node,
            "a workflow must be a mapping with `on` and `jobs`",
        ));
        return;
    }
    // YAML 1.1 readers turn a bare `on` into `true`; saphyr (YAML 1.2) keeps
    // the string, but accept both spellings.
    let on = node.get("on").or_else(|| node.get("true"));
    let triggers = match on.map(|n| &n.untagged().value) {
        Some(Value::Str(s)) => vec![s.clone()],
        Some(Value::Seq(items)) => items.iter().filter_map(Node::scalar_text).collect(),
        Some(Value::Map(entries)) => entries.iter().map(|(k, _)| k.name.clone()).collect(),
        _ => Vec::new(),
    };
    out.push(Fact::GithubWorkflow(CiPipeline {
        location: Location::at(&doc.path, node.pos),
        name: node.str_at("name").map(str::to_string),
        triggers,
        jobs: keys(node.get("jobs")),
    }));
}

pub fn gitlab(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    let Some(entries) = node.as_map() else {
        out.problem(malformed(
            doc,
            node,
            "`.gitlab-ci.yml` must be a mapping of jobs",
        ));
        return;
    };
    let jobs = entries
        .iter()
        .filter(|(k, v)| {
            !GITLAB_RESERVED.contains(&k.name.as_str()) && !k.name.starts_with('.') && v.is_map()
        })
        .map(|(k, _)| k.name.clone())
        .collect();
    out.push(Fact::Gitlab(CiPipeline {
        location: Location::at(&doc.path, node.pos),
        name: None,
        triggers: Vec::new(),
        jobs,
    }));
}

fn keys(node: Option<&Node>) -> Vec<String> {
    node.and_then(Node::as_map)
        .map(|entries| entries.iter().map(|(k, _)| k.name.clone()).collect())
        .unwrap_or_default()
}
