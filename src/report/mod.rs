//! Reporters: one module per output format, all rendering the same
//! [`Report`]. Text from the repository is escaped for the format it goes
//! into.

use clap::ValueEnum;

use crate::findings::{BaselineState, FailOn, Finding, Report};

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

/// Items counted by sameness, each kept once (the first) in first-seen
/// order with how many it stands for.
pub fn tally<T>(
    items: impl IntoIterator<Item = T>,
    same: impl Fn(&T, &T) -> bool,
) -> Vec<(T, usize)> {
    let mut out: Vec<(T, usize)> = Vec::new();
    for item in items {
        match out.iter_mut().find(|(kept, _)| same(kept, &item)) {
            Some((_, n)) => *n += 1,
            None => out.push((item, 1)),
        }
    }
    out
}

/// One rule's findings as listed to people: identical messages once with
/// their count (at the first one's location, whatever their targets), at
/// most `report.max_per_rule` entries; and how many findings were left out.
pub fn collapse<'a>(report: &Report, group: &[&'a Finding]) -> (Vec<(&'a Finding, usize)>, usize) {
    let mut shown = tally(group.iter().copied(), |a, b| a.message == b.message);
    let limit = report.max_per_rule.unwrap_or(usize::MAX);
    let hidden: usize = shown.iter().skip(limit).map(|(_, n)| n).sum();
    shown.truncate(limit);
    (shown, hidden)
}

/// Findings grouped by rule and state (the report is sorted so), each
/// group with its count as written after the rule (" ×3").
pub fn rule_groups<'f, 'a>(
    findings: &'f [&'a Finding],
) -> impl Iterator<Item = (&'f [&'a Finding], String)> {
    findings
        .chunk_by(|a, b| a.state == b.state && a.rule == b.rule)
        .map(|g| {
            let count = match g.len() {
                1 => String::new(),
                n => format!(" ×{n}"),
            };
            (g, count)
        })
}

/// "and 780 more like this (790 in 112 files; ...)": how far the rule's
/// findings spread says whether it is one file to fix or a convention.
pub fn more_like_this(group: &[&Finding], hidden: usize) -> Option<String> {
    (hidden > 0).then(|| {
        let mut files: Vec<&str> = group
            .iter()
            .filter_map(|f| f.location.as_ref().map(|l| l.path.as_str()))
            .collect();
        files.sort_unstable();
        files.dedup();
        let spread = match files.len() {
            0 | 1 => String::new(),
            n => format!("{} in {n} files; ", group.len()),
        };
        format!(
            "and {hidden} more like this ({spread}--all lists every one; JSON and SARIF have them)"
        )
    })
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

/// Whether a finding is annotated on its line: it needs attention and,
/// with `--annotate changed`, sits on a changed line.
pub fn annotated(f: &Finding) -> bool {
    f.needs_attention() && f.on_changed_line != Some(false)
}

/// `new` or `worse` against the baseline; empty otherwise.
pub fn change_tag(f: &Finding) -> &'static str {
    match f.baseline {
        Some(BaselineState::New) => "new",
        Some(BaselineState::Updated) => "worse",
        _ => "",
    }
}

/// ` (text)`, escaped for the format, or nothing: a finding's target.
pub fn in_parens(text: Option<&str>, escape: impl Fn(&str) -> String) -> String {
    text.map(|t| format!(" ({})", escape(t)))
        .unwrap_or_default()
}

fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The commit id as people write it.
fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// What regression and diff-aware modes add, one sentence each: new and
/// fixed against the baseline, and which lines scoped the annotations.
pub fn scope_lines(report: &Report) -> Vec<String> {
    let mut lines = scope_lines_changes(report);
    let out_of_scope: Vec<&str> = report
        .findings
        .iter()
        .filter_map(|f| f.scope.map(|s| s.as_str()))
        .collect();
    if !out_of_scope.is_empty() {
        let mut kinds: Vec<&str> = out_of_scope.clone();
        kinds.sort();
        kinds.dedup();
        lines.push(format!(
            "{} finding(s) in {} files not judged (kept as skips in JSON and SARIF)",
            out_of_scope.len(),
            kinds.join(", ")
        ));
    }
    lines
}

fn scope_lines_changes(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(c) = &report.comparison {
        let level = c.baseline_level.as_deref().unwrap_or("none");
        lines.push(format!(
            "Against {} ({}, level {level}): {} new or worse ({} keeping the service below its level), {} fixed.",
            c.baseline_ref,
            short(&c.baseline_commit),
            c.new,
            c.regressions,
            c.fixed.len()
        ));
    }
    if let Some(ch) = &report.changes {
        lines.push(format!(
            "Annotated: {} on lines changed in {} ({}); {} elsewhere only listed.",
            plural(ch.on_changed_lines, "finding"),
            ch.source,
            plural(ch.files, "file"),
            ch.elsewhere
        ));
    }
    lines
}

/// One sentence: the level reached against the level required, and whether
/// this run blocks.
/// With `--policy-ref`: a heading, then one line per change the working
/// tree makes to the policy it is judged by (unescaped; each format escapes).
pub fn policy_change_lines(report: &Report) -> Option<(String, Vec<String>)> {
    let from = report.policy_ref.as_ref()?;
    let heading = format!(
        "Policy from {} ({}); what this change does to it does not count yet:",
        from.policy_ref,
        short(&from.commit)
    );
    let mut lines: Vec<String> = from
        .head_changes
        .iter()
        .map(|c| match &c.location {
            Some(l) => format!("{} ({l})", c.message),
            None => c.message.clone(),
        })
        .collect();
    if let Some(e) = &from.head_error {
        lines.push(format!("the working tree's policy does not load: {e}"));
    }
    if lines.is_empty() {
        lines.push(
            "no change to the policy or to the manifest's tier, lifecycle or alert settings".into(),
        );
    }
    Some((heading, lines))
}

/// The level above the one reached, when the required one is not reached.
pub fn next_level(report: &Report) -> Option<&str> {
    let v = &report.verdict;
    if v.level_reached_meets() {
        return None;
    }
    match &v.level_reached {
        None => v.levels.first().map(String::as_str),
        Some(r) => {
            let i = v.levels.iter().position(|l| l == r)?;
            v.levels.get(i + 1).map(String::as_str)
        }
    }
}

/// Whether a finding keeps the service below its next level: reports list
/// these first, across areas.
pub fn blocks_next_level(report: &Report, f: &Finding) -> bool {
    f.counts_against_level && next_level(report).is_some_and(|next| f.level == next)
}

/// What to do next, when the required level is not reached: "to reach
/// silver, fix: iac.terraform-lockfile (1), service.slo (1)", the rules
/// that keep the service below the next level, most findings first.
pub fn next_step(report: &Report) -> Option<String> {
    let next = next_level(report)?;
    let mut rules = tally(
        report
            .findings
            .iter()
            .filter(|f| blocks_next_level(report, f))
            .map(|f| f.rule.as_str()),
        |a, b| a == b,
    );
    if rules.is_empty() {
        return None;
    }
    rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let list: Vec<String> = rules.iter().map(|(r, n)| format!("{r} ({n})")).collect();
    Some(format!("to reach {next}, fix: {}", list.join(", ")))
}

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
    let new_only = report
        .comparison
        .as_ref()
        .filter(|c| c.fail_on == FailOn::New);
    let outcome = if v.blocked {
        match new_only {
            Some(c) => format!(
                "BLOCKED ({} new failing against {})",
                c.regressions, c.baseline_ref
            ),
            None => "BLOCKED".to_string(),
        }
    } else if let Some(c) = new_only.filter(|c| c.policy_blocks) {
        format!(
            "not ready, but nothing new fails against {}: not blocking (--fail-on new)",
            c.baseline_ref
        )
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
