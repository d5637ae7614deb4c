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
    let mut values = vec![
        ("verdict", verdict(report).to_string()),
        (
            "level",
            report
                .verdict
                .level_reached
                .clone()
                .unwrap_or_else(|| "none".into()),
        ),
        ("required-level", report.verdict.level_required.clone()),
        ("failures", report.verdict.counts.fail.to_string()),
    ];
    for (name, file) in files {
        values.push((name, file.display().to_string()));
    }
    // The multi-line form with a random delimiter not in the value: a level
    // name or path with a newline stays inside its own output.
    let mut text = String::new();
    for (name, value) in values {
        let delimiter = crate::escape::output_delimiter(&value);
        text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
    }
    append(path, &text)
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}
