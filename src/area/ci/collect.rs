//! CI presence: GitHub Actions workflows and GitLab CI pipelines.

use super::Fact;
use super::section::CiPipeline;
use crate::document::{Document, Sink, gitlab_jobs, malformed, workflow_on};
use crate::evidence::Location;
use crate::yaml::{Node, Value};

pub fn github_workflow(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    if !node.is_map() {
        out.problem(malformed(
            doc,
            node,
            "a workflow must be a mapping with `on` and `jobs`",
        ));
        return;
    }
    let on = workflow_on(node);
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
    if !node.is_map() {
        out.problem(malformed(
            doc,
            node,
            "`.gitlab-ci.yml` must be a mapping of jobs",
        ));
        return;
    }
    let jobs = gitlab_jobs(node).map(|(k, _)| k.name.clone()).collect();
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
