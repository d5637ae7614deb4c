//! What the gate hands back to the runner besides annotations: the job
//! summary (appended, as other steps may write there too) and step outputs.

use std::io::Write;
use std::path::Path;

use super::context::RunnerContext;
use crate::findings::Report;

/// The `verdict` output: `blocked`, `ready` or `not-ready` (below the
/// required level where that does not block).
pub fn verdict(report: &Report) -> &'static str {
    if report.verdict.blocked {
        "blocked"
    } else if report.verdict.level_reached_meets() {
        "ready"
    } else {
        "not-ready"
    }
}

/// Append the Markdown report, with links to the lines at this commit, to
/// `$GITHUB_STEP_SUMMARY`.
pub fn write_summary(report: &Report, ctx: &RunnerContext) -> std::io::Result<()> {
    let Some(path) = &ctx.step_summary else {
        return Ok(());
    };
    let text = crate::report::markdown::render_linked(report, ctx.blob_base().as_deref());
    append(path, &format!("{text}\n"))
}

/// Write step outputs to `$GITHUB_OUTPUT`. `files` are (output name, path)
/// for reports written with `--output`.
pub fn write_outputs(
    report: &Report,
    ctx: &RunnerContext,
    files: &[(&str, &Path)],
) -> std::io::Result<()> {
    let Some(path) = &ctx.output else {
        return Ok(());
    };
    let mut lines = vec![
        format!("verdict={}", verdict(report)),
        format!(
            "level={}",
            report.verdict.level_reached.as_deref().unwrap_or("none")
        ),
        format!("required-level={}", report.verdict.level_required),
        format!("failures={}", report.verdict.counts.fail),
    ];
    for (name, file) in files {
        // A path with a newline would start a new output; refuse it.
        let file = file.display().to_string();
        if !file.contains(['\n', '\r']) {
            lines.push(format!("{name}={file}"));
        }
    }
    append(path, &(lines.join("\n") + "\n"))
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}
