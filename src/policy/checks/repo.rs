//! Checks about the repository as a whole: readable evidence, CI.

use serde::Deserialize;
use serde_json::Value as Json;

use super::{Check, Outcome, params};
use crate::evidence::{Evidence, ProblemKind};

pub struct EvidenceReadable;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadableParams {
    /// Problem kinds to ignore (e.g. `symlink-outside-root`).
    #[serde(default)]
    ignore: Vec<ProblemKind>,
}

impl Check for EvidenceReadable {
    fn id(&self) -> &'static str {
        "evidence-readable"
    }
    fn summary(&self) -> &'static str {
        "Every file that looks like evidence could be read and parsed (not malformed, over the size cap, unreadable, non-UTF-8, or a symlink out of the tree)."
    }
    fn params_help(&self) -> &'static str {
        "`ignore`: list of problem kinds to accept (unparseable, oversize, unreadable, not-utf8, symlink-outside-root)"
    }
    fn validate(&self, p: &Json) -> Result<(), String> {
        params::<ReadableParams>(p).map(|_| ())
    }
    fn run(&self, ev: &Evidence, p: &Json) -> Vec<Outcome> {
        let p: ReadableParams = params(p).unwrap_or_default();
        let failures: Vec<Outcome> = ev
            .problems
            .iter()
            .filter(|problem| !p.ignore.contains(&problem.kind))
            .map(|problem| {
                let what = problem.document_kind.as_deref().unwrap_or("evidence file");
                Outcome::fail(format!(
                    "{} {what}: {}",
                    problem.kind.as_str(),
                    problem.message
                ))
                .target(&problem.location.path)
                .at(problem.location.clone())
            })
            .collect();
        if failures.is_empty() {
            let n: u64 = ev.files.by_kind.values().sum();
            vec![Outcome::pass(format!("all {n} evidence files were read"))]
        } else {
            failures
        }
    }
}

pub struct CiPresent;

impl Check for CiPresent {
    fn id(&self) -> &'static str {
        "ci-present"
    }
    fn summary(&self) -> &'static str {
        "A CI pipeline is defined (GitHub Actions workflow or .gitlab-ci.yml)."
    }
    fn run(&self, ev: &Evidence, _: &Json) -> Vec<Outcome> {
        let first = ev.ci.github_workflows.iter().chain(&ev.ci.gitlab).next();
        match first {
            Some(pipeline) => {
                let n = ev.ci.github_workflows.len() + ev.ci.gitlab.len();
                vec![
                    Outcome::pass(format!("{n} CI pipeline file(s)")).at(pipeline.location.clone()),
                ]
            }
            None => vec![Outcome::fail(
                "no CI pipeline: no .github/workflows/*.yml and no .gitlab-ci.yml",
            )],
        }
    }
}
