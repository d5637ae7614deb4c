//! GitHub Actions workflow commands (`::error file=…,line=…::message`), so
//! findings appear as annotations on the lines they are about. Every value is
//! escaped as the runner requires, so no text from the repository can end a
//! command early or start a new one.

use std::fmt::Write;

use super::{annotated, change_tag, policy_change_lines, scope_lines, verdict_line};
use crate::findings::{Finding, Report, State};

/// GitHub shows at most this many error and this many warning annotations
/// per step; the rest are dropped silently, so we choose which and say so.
pub const MAX_PER_KIND: usize = 10;

pub use crate::escape::{workflow_data as escape_data, workflow_property as escape_property};

fn command(f: &Finding) -> &'static str {
    if f.state == State::Fail {
        "error"
    } else {
        "warning"
    }
}

fn annotation(f: &Finding) -> String {
    let mut props = Vec::new();
    if let Some(l) = &f.location {
        props.push(format!("file={}", escape_property(&l.path)));
        if l.line > 0 {
            props.push(format!("line={}", l.line));
            if l.column > 0 {
                props.push(format!("col={}", l.column));
            }
        }
    }
    let state = match f.state {
        State::Unknown => " (unknown)",
        _ => "",
    };
    let tag = match change_tag(f) {
        "" => String::new(),
        tag => format!("{tag}: "),
    };
    props.push(format!(
        "title={}",
        escape_property(&format!("{tag}{}{state}: {}", f.rule, f.title))
    ));
    let target = f
        .target
        .as_deref()
        .map(|t| format!(" [{t}]"))
        .unwrap_or_default();
    format!(
        "::{} {}::{}",
        command(f),
        props.join(","),
        escape_data(&format!(
            "{}{target}\nWhy: {}\nFix: {}",
            f.message, f.why, f.remediation
        ))
    )
}

/// Findings as plain log lines: indented and escaped so none can read as a
/// command.
fn plain_lines(out: &mut String, findings: &[&Finding]) {
    for f in findings {
        let at = f
            .location
            .as_ref()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {}{}: {}",
            f.state.as_str(),
            f.rule,
            escape_data(&at),
            escape_data(&f.message)
        );
    }
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let level_rank = |f: &Finding| {
        report
            .verdict
            .levels
            .iter()
            .position(|l| *l == f.level)
            .unwrap_or(usize::MAX)
    };
    // Most important first: failures before unknowns before warnings, new
    // ones (against --baseline) first, the lowest (most basic) level first.
    let mut needs: Vec<&Finding> = report.findings.iter().filter(|f| annotated(f)).collect();
    needs.sort_by_key(|f| (f.state, change_tag(f).is_empty(), level_rank(f)));
    let (mut errors, mut warnings) = (0, 0);
    let mut left_out = Vec::new();
    for f in needs {
        let used = if command(f) == "error" {
            &mut errors
        } else {
            &mut warnings
        };
        if *used < MAX_PER_KIND {
            *used += 1;
            let _ = writeln!(out, "{}", annotation(f));
        } else {
            left_out.push(f);
        }
    }
    if !left_out.is_empty() {
        let (e, w) = left_out.iter().fold((0, 0), |(e, w), f| {
            if command(f) == "error" {
                (e + 1, w)
            } else {
                (e, w + 1)
            }
        });
        let _ = writeln!(
            out,
            "::notice title=readygate::{}",
            escape_data(&format!(
                "{e} more error(s) and {w} more warning(s) are not annotated (GitHub shows {MAX_PER_KIND} of each per step); they are listed below and in the job summary"
            ))
        );
        plain_lines(&mut out, &left_out);
    }
    let elsewhere: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.needs_attention() && !annotated(f))
        .collect();
    if !elsewhere.is_empty() {
        let _ = writeln!(
            out,
            "readygate: {} finding(s) not on changed lines, not annotated:",
            elsewhere.len()
        );
        plain_lines(&mut out, &elsewhere);
    }
    for line in scope_lines(report) {
        let _ = writeln!(out, "readygate: {}", escape_data(&line));
    }
    if let Some((heading, lines)) = policy_change_lines(report) {
        // One warning: the reviewer sees it in the run's annotations.
        let _ = writeln!(
            out,
            "::warning title={}::{}",
            escape_property("readygate: policy changes not in force"),
            escape_data(&format!("{heading}\n{}", lines.join("\n")))
        );
    }
    let _ = writeln!(out, "readygate: {}", escape_data(&verdict_line(report)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_runner() {
        assert_eq!(escape_data("50%\r\n::error::x"), "50%25%0D%0A::error::x");
        assert_eq!(escape_property("a:b,c\n"), "a%3Ab%2Cc%0A");
    }
}
