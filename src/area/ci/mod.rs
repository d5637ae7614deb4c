//! CI: the pipelines the repository defines (GitHub Actions workflows,
//! GitLab CI).

use crate::check::SectionCheck;
use crate::contract::{Area, Assembly};
use crate::document::shared::{GITHUB_WORKFLOW, GITLAB_CI};
use crate::document::{DocKind, Document, KindSpec, Sink};
use crate::evidence::Problem;

mod checks;
mod collect;
pub mod section;

pub use section::Ci;

static KINDS: &[KindSpec] = &[
    KindSpec {
        kind: GITHUB_WORKFLOW,
        globs: &[".github/workflows/*.yml", ".github/workflows/*.yaml"],
        sniff: None,
        order: 30,
    },
    KindSpec {
        kind: GITLAB_CI,
        globs: &[".gitlab-ci.yml", ".gitlab-ci.yaml"],
        sniff: None,
        order: 40,
    },
];

pub enum Fact {
    GithubWorkflow(section::CiPipeline),
    Gitlab(section::CiPipeline),
}

pub struct CiArea;

impl Area for CiArea {
    type Fact = Fact;
    type Section = Ci;

    fn name(&self) -> &'static str {
        "ci"
    }
    fn kinds(&self) -> &'static [KindSpec] {
        KINDS
    }
    fn reads(&self) -> &'static [DocKind] {
        &[GITHUB_WORKFLOW, GITLAB_CI]
    }
    fn collect(&self, doc: &Document, out: &mut Sink<Fact>) {
        match doc.kind {
            GITHUB_WORKFLOW => {
                doc.each_yaml(out, |node, out| collect::github_workflow(doc, node, out))
            }
            GITLAB_CI => doc.each_yaml(out, |node, out| collect::gitlab(doc, node, out)),
            _ => {}
        }
    }
    fn assemble(&self, facts: Vec<Fact>, _: &Assembly, _: &mut Vec<Problem>) -> Ci {
        let mut ci = Ci::default();
        for fact in facts {
            match fact {
                Fact::GithubWorkflow(w) => ci.github_workflows.push(w),
                Fact::Gitlab(g) => ci.gitlab.push(g),
            }
        }
        // The walk is parallel; sort so output never depends on thread timing.
        ci.github_workflows
            .sort_by(|a, b| a.location.cmp(&b.location));
        ci.gitlab.sort_by(|a, b| a.location.cmp(&b.location));
        ci
    }
    fn checks(&self) -> Vec<&'static dyn SectionCheck<Ci>> {
        vec![&checks::CiPresent]
    }
}
