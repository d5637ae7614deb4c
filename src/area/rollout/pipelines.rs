//! CI jobs as deploy and rollback evidence: GitHub Actions workflows and
//! GitLab CI, each job's steps (or script) scanned for what they run.

use super::Fact;
use super::commands::{self, ROLLBACK_WORDS, Scan};
use crate::document::{Document, Sink, gitlab_jobs, workflow_on};
use crate::evidence::Location;
use crate::yaml::{Node, Value};

/// One CI job, as the rollout rules need it.
#[derive(Debug)]
pub struct CiJob {
    pub location: Location,
    /// `github-actions` or `gitlab-ci`.
    pub by: &'static str,
    pub file: String,
    pub id: String,
    pub name: Option<String>,
    /// GitLab `when: manual`.
    pub manual: bool,
    /// The deployment environment it targets, unless it stops or only
    /// prepares one.
    pub environment: Option<String>,
    /// A reusable workflow it calls (`uses:` on the job).
    pub uses: Option<String>,
    /// Its steps (GitHub) or its script (GitLab, one unit).
    pub units: Vec<Unit>,
    /// The workflow's `workflow_dispatch` inputs that name a version.
    pub version_inputs: Vec<(String, Location)>,
}

/// A step, or a GitLab job's scripts together.
#[derive(Debug)]
pub struct Unit {
    pub location: Location,
    pub name: Option<String>,
    /// An action that deploys (`uses: aws-actions/amazon-ecs-deploy-...`).
    pub deploy_action: Option<String>,
    /// A local action it uses (`./.github/actions/rollback`), not read.
    pub local_action: Option<String>,
    pub scan: Scan,
    /// Where each line of the scan is in the file.
    pub first_line: u32,
}

impl Unit {
    pub fn line(&self, script_line: u32) -> Location {
        Location::new(&self.location.path, self.first_line + script_line, 1)
    }
}

/// Input names that choose what to deploy.
fn names_a_version(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "version", "ref", "tag", "sha", "image", "release", "revision", "commit",
    ]
    .iter()
    .any(|w| n == *w || n.ends_with(&format!("_{w}")) || n.ends_with(&format!("-{w}")))
}

/// The line a script's first line is on: the line after `run: |`, or the
/// key's own line for a one-line value.
fn first_line(doc: &Document, node: &Node) -> u32 {
    let Some(start) = doc.line_start(node.pos.line) else {
        return node.pos.line;
    };
    let first = doc
        .text
        .get(start..)
        .unwrap_or_default()
        .chars()
        .skip(node.pos.column.saturating_sub(1) as usize)
        .take_while(|c| *c != '\n')
        .find(|c| !c.is_whitespace());
    if matches!(first, Some('|' | '>')) {
        node.pos.line + 1
    } else {
        node.pos.line
    }
}

/// A name from a document as one line (a newline in a job name must not
/// forge a line of the terminal report), at most 200 characters.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

/// Environments that receive packages or pages, not the service.
const NOT_SERVICE_ENVIRONMENTS: &[&str] = &[
    "pypi",
    "testpypi",
    "npm",
    "crates",
    "crates-io",
    "crates.io",
    "rubygems",
    "maven",
    "sonatype",
    "nuget",
    "github-pages",
    "pages",
    "docs",
    "documentation",
    "release",
    "releases",
    "homebrew",
    "docker-hub",
    "dockerhub",
];

fn text(node: Option<&Node>) -> Option<String> {
    node.and_then(Node::scalar_text).map(|t| one_line(&t))
}

/// `environment: prod` or `environment: {name: prod, action: stop}`.
fn environment(node: Option<&Node>) -> Option<String> {
    let node = node?;
    let name = match node.scalar_text() {
        Some(name) => name,
        None => {
            let action = node.str_at("action").unwrap_or("start");
            if !matches!(action, "start") {
                return None; // stop, prepare, verify, access: no deploy
            }
            node.scalar_text_at("name")?
        }
    };
    let lower = name.to_ascii_lowercase();
    (!NOT_SERVICE_ENVIRONMENTS.contains(&lower.as_str())).then(|| one_line(&name))
}

pub fn github_workflow(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    let on = workflow_on(node);
    let version_inputs: Vec<(String, Location)> = on
        .and_then(|on| on.path(&["workflow_dispatch", "inputs"]))
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter(|(k, _)| names_a_version(&k.name))
        .map(|(k, _)| (one_line(&k.name), Location::at(&doc.path, k.pos)))
        .collect();
    for (key, job) in node.get("jobs").and_then(Node::as_map).unwrap_or_default() {
        if !job.is_map() {
            continue;
        }
        let units = job
            .get("steps")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .map(|step| {
                let run = step.get("run");
                let action = step.str_at("uses").map(one_line);
                Unit {
                    location: Location::at(&doc.path, step.pos),
                    name: text(step.get("name")).or_else(|| text(step.get("id"))),
                    deploy_action: action.clone().filter(|a| {
                        a.to_ascii_lowercase().contains("deploy") && !a.starts_with("./")
                    }),
                    local_action: action.filter(|a| a.starts_with("./")),
                    scan: run
                        .and_then(Node::as_str)
                        .map(commands::scan)
                        .unwrap_or_default(),
                    first_line: run.map_or(step.pos.line, |r| first_line(doc, r)),
                }
            })
            .collect();
        out.push(Fact::Job(CiJob {
            location: Location::at(&doc.path, key.pos),
            by: "github-actions",
            file: doc.path.clone(),
            id: one_line(&key.name),
            name: text(job.get("name")),
            manual: false,
            environment: environment(job.get("environment")),
            uses: job.str_at("uses").map(one_line),
            units,
            version_inputs: version_inputs.clone(),
        }));
    }
}

pub fn gitlab(doc: &Document, node: &Node, out: &mut Sink<Fact>) {
    let entries = node.as_map().unwrap_or_default();
    // Hidden jobs (`.rollback_tpl`) are templates a job `extends`.
    let template = |name: &str| {
        entries
            .iter()
            .find(|(k, v)| k.name == name && name.starts_with('.') && v.is_map())
            .map(|(_, v)| v)
    };
    for (key, job) in gitlab_jobs(node) {
        // The job, then what it extends (the nearest first), for the keys
        // it does not set itself.
        let mut chain = vec![job];
        let mut next = job.get("extends");
        while chain.len() < 10 {
            let names = match next.map(|n| &n.untagged().value) {
                Some(Value::Str(s)) => vec![s.clone()],
                Some(Value::Seq(items)) => items.iter().filter_map(Node::scalar_text).collect(),
                _ => break,
            };
            let Some(parent) = names.iter().rev().find_map(|n| template(n)) else {
                break;
            };
            chain.push(parent);
            next = parent.get("extends");
        }
        let get = |k: &str| chain.iter().find_map(|j| j.get(k));
        // Each line of before_script, script and after_script on its own
        // (an item may come from an anchor elsewhere in the file).
        let mut units = Vec::new();
        for part in ["before_script", "script", "after_script"] {
            if let Some(n) = get(part) {
                script_items(doc, n, &mut units, 0);
            }
        }
        out.push(Fact::Job(CiJob {
            location: Location::at(&doc.path, key.pos),
            by: "gitlab-ci",
            file: doc.path.clone(),
            id: one_line(&key.name),
            name: None,
            manual: get("when").and_then(Node::as_str) == Some("manual"),
            environment: environment(get("environment")),
            uses: None,
            units,
            version_inputs: Vec::new(),
        }));
    }
}

/// A GitLab script: a string or a list of strings (lists nest, with
/// `!reference`), each scanned where it is written.
fn script_items(doc: &Document, node: &Node, out: &mut Vec<Unit>, depth: u32) {
    match &node.untagged().value {
        Value::Seq(items) if depth < 8 => {
            for item in items {
                script_items(doc, item, out, depth + 1);
            }
        }
        _ => {
            if let Some(t) = node.scalar_text() {
                out.push(Unit {
                    location: Location::at(&doc.path, node.pos),
                    name: None,
                    deploy_action: None,
                    local_action: None,
                    scan: commands::scan(&t),
                    first_line: first_line(doc, node),
                });
            }
        }
    }
}

/// Whether a job's or step's name says it rolls back.
pub fn named_rollback(names: &[Option<&str>]) -> bool {
    names.iter().flatten().any(|n| ROLLBACK_WORDS.is_match(n))
}

/// Whether a job's name says it tests (a `test-rollback` job exercises a
/// rollback in a throwaway cluster; an `e2e` job deploys to one).
pub fn named_test(names: &[Option<&str>]) -> bool {
    static TEST_WORDS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)\b(?:test|tests|e2e|integration|smoke|lint|cleanup|clean-up|preview|review)\b",
        )
        .expect("a built-in pattern")
    });
    names
        .iter()
        .flatten()
        .any(|n| TEST_WORDS.is_match(&n.replace(['_', '-', ':', '/'], " ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_inputs() {
        assert!(names_a_version("version"));
        assert!(names_a_version("image_tag"));
        assert!(names_a_version("git-ref"));
        assert!(!names_a_version("environment"));
        assert!(!names_a_version("preference"));
    }
}
