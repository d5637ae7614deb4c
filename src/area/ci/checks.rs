//! Checks about CI.

use super::section::Ci;
use crate::check::{Check, Context, NoParams, Outcome};

pub struct CiPresent;

impl Check for CiPresent {
    type Section = Ci;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "ci-present"
    }
    fn summary(&self) -> &'static str {
        "A CI pipeline is defined (GitHub Actions workflow or .gitlab-ci.yml)."
    }
    fn run(&self, ci: &Ci, _: &NoParams, _: &Context) -> Vec<Outcome> {
        let first = ci.github_workflows.iter().chain(&ci.gitlab).next();
        match first {
            Some(pipeline) => {
                let n = ci.github_workflows.len() + ci.gitlab.len();
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
