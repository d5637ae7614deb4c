//! Reporters: one module per output format, all rendering the same
//! [`Report`]. Text from the repository is escaped for the format it goes
//! into.

use clap::ValueEnum;

use crate::findings::{Finding, Report};

pub mod github;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod terminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Terminal,
    Json,
    Markdown,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow commands: annotations on the lines.
    Github,
    /// JUnit XML, for CI systems that display test results.
    Junit,
}

pub fn render(report: &Report, format: Format, colour: bool) -> String {
    match format {
        Format::Terminal => terminal::render(report, colour),
        Format::Json => json::render(report),
        Format::Markdown => markdown::render(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report),
        Format::Junit => junit::render(report),
    }
}

/// Areas in first-appearance order (findings are sorted worst first).
pub fn areas<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in findings {
        if !out.contains(&f.area) {
            out.push(f.area.clone());
        }
    }
    out
}

/// One sentence: the level reached against the level required, and whether
/// this run blocks.
pub fn verdict_line(report: &Report) -> String {
    let v = &report.verdict;
    let reached = v.level_reached.as_deref().unwrap_or("none");
    let tier = v
        .tier
        .map_or("no tier declared".to_string(), |t| format!("tier {t}"));
    let place = match &v.branch {
        Some(b) => format!("{} on {b}", v.event),
        None => v.event.clone(),
    };
    let outcome = if v.blocked {
        "BLOCKED".to_string()
    } else if v.level_reached_meets() {
        "ready".to_string()
    } else {
        format!("not ready (enforcement: {}, not blocking)", v.mode.as_str())
    };
    format!(
        "level {reached} reached, {} required ({tier}, {place}): {outcome}",
        v.level_required
    )
}
