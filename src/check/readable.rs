//! The check every area relies on: the files that look like evidence were
//! read. It reads what the walk saw, not an area's section.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Check, Context, Outcome, Status};
use crate::evidence::ProblemKind;

pub struct EvidenceReadable;

#[derive(Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadableParams {
    /// Problem kinds to accept (unparseable, oversize, unreadable, not-utf8,
    /// symlink-outside-root, empty, over-budget, template).
    #[serde(default)]
    ignore: Vec<ProblemKind>,
}

impl Check for EvidenceReadable {
    type Section = ();
    type Params = ReadableParams;

    fn id(&self) -> &'static str {
        "evidence-readable"
    }
    fn summary(&self) -> &'static str {
        "Every file that looks like evidence could be read and parsed (not malformed, over the size cap, unreadable, non-UTF-8, or a symlink out of the tree); templates that parse only once rendered are unknown."
    }
    fn run(&self, _: &(), p: &ReadableParams, ctx: &Context) -> Vec<Outcome> {
        let failures: Vec<Outcome> = ctx
            .problems
            .iter()
            .filter(|problem| !p.ignore.contains(&problem.kind))
            .map(|problem| {
                let what = problem.document_kind.as_deref().unwrap_or("evidence file");
                // A template was not read, rather than read and found broken.
                let status = match problem.kind {
                    ProblemKind::Template => Status::Unknown,
                    _ => Status::Fail,
                };
                Outcome::new(
                    status,
                    format!("{} {what}: {}", problem.kind.as_str(), problem.message),
                )
                .target(&problem.location.path)
                .at(problem.location.clone())
            })
            .collect();
        if failures.is_empty() {
            let n: u64 = ctx.files.by_kind.values().sum();
            vec![Outcome::pass(format!("all {n} evidence files were read"))]
        } else {
            failures
        }
    }
}
