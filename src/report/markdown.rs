//! Markdown for a job summary or PR comment: verdict first, then what
//! blocks the next level, then the rest of what needs attention grouped by
//! area, then what passed (collapsed).

use std::fmt::Write;

use super::{
    annotated, areas, blocks_next_level, change_tag, collapse, in_parens, more_like_this,
    next_level, next_step, policy_change_lines, rule_groups, scope_lines, verdict_line,
};
use crate::findings::{Finding, Report, State};

/// Make repository text inert in Markdown: no HTML, no @mentions, no
/// emphasis, links or table breaks. Balanced backticks stay code spans
/// (`runbook_url` reads as code, not as escaped punctuation): nothing
/// inside a code span is interpreted, and it cannot hold a backtick. A span
/// opens only after a space or opening punctuation: GitHub's autolinks
/// (`www.x/`, `https://x/`) run up to the next space, so one written just
/// before a backtick would take it, and the span's text would be read as
/// HTML.
pub fn escape(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len() < 3 || parts.len().is_multiple_of(2) {
        return escape_plain(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 0 {
            out.push_str(&escape_plain(part));
        } else if part.trim().is_empty()
            || part.contains(['\n', '\r'])
            || !opens_a_span(parts[i - 1])
        {
            // Not a code span GitHub would show as one: keep it inert.
            out.push_str("\\`");
            out.push_str(&escape_plain(part));
            out.push_str("\\`");
        } else {
            out.push('`');
            out.push_str(&crate::escape::line(part));
            out.push('`');
        }
    }
    out
}

/// Whether a backtick after `before` can open a code span no autolink
/// reaches: the run of text since the last space is empty or only opening
/// punctuation (`(`, `"`), which starts no link.
fn opens_a_span(before: &str) -> bool {
    let run = before.rsplit(char::is_whitespace).next().unwrap_or("");
    run.chars().all(|c| "([{\"'".contains(c))
}

fn escape_plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '@' => out.push_str("&#64;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            // Bidi overrides and other hidden characters would let the text
            // read differently from what it is.
            c if crate::escape::is_hidden(c) => out.push_str(&crate::escape::line(&c.to_string())),
            c => out.push(c),
        }
    }
    out
}

pub fn render(report: &Report) -> String {
    render_linked(report, None)
}

/// A link to a file line under `base` (`https://github.com/o/r/blob/SHA/`),
/// each path segment percent-encoded so no file name can end the link.
fn file_link(base: &str, loc: &crate::evidence::Location) -> String {
    let path: Vec<String> = loc
        .path
        .split('/')
        .map(|seg| {
            url::form_urlencoded::byte_serialize(seg.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        })
        .collect();
    let line = if loc.line > 0 {
        format!("#L{}", loc.line)
    } else {
        String::new()
    };
    format!(
        "[{}]({base}{}{line})",
        escape(&loc.to_string()),
        path.join("/")
    )
}

/// A location, linked to its line under `links` when given.
fn location(loc: &crate::evidence::Location, links: Option<&str>) -> String {
    match links {
        Some(base) => file_link(base, loc),
        None => escape(&loc.to_string()),
    }
}

/// The Markdown report; with `links`, locations link to the file lines.
/// Failures are grouped by area and rule (why and fix once per rule);
/// with `--annotate changed`, those off the changed lines are collapsed.
pub fn render_linked(report: &Report, links: Option<&str>) -> String {
    let mut out = String::new();
    let icon = if report.verdict.blocked {
        "❌"
    } else if report.verdict.level_reached_meets() {
        "✅"
    } else {
        "⚠️"
    };
    let service = report
        .service
        .as_deref()
        .map(escape)
        .unwrap_or_else(|| "(unnamed service)".into());
    let _ = writeln!(out, "## {icon} readygate: {service}\n");
    // A change that weakens its own policy is the first thing a reviewer
    // should see.
    if let Some((heading, lines)) = policy_change_lines(report) {
        let _ = writeln!(out, "**{}**\n", escape(&heading));
        for line in lines {
            let _ = writeln!(out, "- {}", escape(&line));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "**{}**\n", escape(&verdict_line(report)));
    if let Some(next) = next_step(report) {
        let _ = writeln!(out, "{}\n", escape(&next));
    }
    for line in scope_lines(report) {
        let _ = writeln!(out, "{}\n", escape(&line));
    }
    let shown: Vec<&Finding> = report.findings.iter().filter(|f| annotated(f)).collect();
    let (blocking, rest): (Vec<&Finding>, Vec<&Finding>) =
        shown.iter().partition(|f| blocks_next_level(report, f));
    if let (false, Some(next)) = (blocking.is_empty(), next_level(report)) {
        let _ = writeln!(out, "### Blocking {}\n", escape(next));
        groups(&mut out, report, &blocking, links);
    }
    for area in areas(rest.iter().copied()) {
        let _ = writeln!(out, "### {}\n", escape(&area));
        let in_area: Vec<&Finding> = rest.iter().copied().filter(|f| f.area == area).collect();
        groups(&mut out, report, &in_area, links);
    }
    let elsewhere: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.needs_attention() && !annotated(f))
        .collect();
    if let (false, Some(changes)) = (elsewhere.is_empty(), &report.changes) {
        let _ = writeln!(
            out,
            "<details><summary>{} more, not on lines changed in {}</summary>\n",
            elsewhere.len(),
            escape(&changes.source)
        );
        for f in elsewhere {
            let _ = writeln!(
                out,
                "- {} `{}` {}",
                f.state.as_str(),
                f.rule,
                finding_line(f, links)
            );
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    if let Some(c) = report.comparison.as_ref().filter(|c| !c.fixed.is_empty()) {
        let _ = writeln!(out, "### Fixed since {}\n", escape(&c.baseline_ref));
        for f in &c.fixed {
            let target = in_parens(f.target.as_deref(), escape);
            let at = f
                .location
                .as_ref()
                .map(|l| format!(" — {}", escape(&l.to_string())))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- `{}` {}{target}{at}: {}",
                f.rule,
                escape(&f.title),
                f.change()
            );
        }
        out.push('\n');
    }
    let rest: Vec<_> = report
        .findings
        .iter()
        .filter(|f| matches!(f.state, State::Pass | State::Waived | State::Skip))
        .collect();
    if !rest.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} passed, waived or skipped</summary>\n",
            rest.len()
        );
        for f in rest {
            let target = in_parens(f.target.as_deref(), escape);
            let _ = writeln!(
                out,
                "- {} `{}`{target}: {}",
                f.state.as_str(),
                f.rule,
                escape(&f.message)
            );
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}

/// Findings grouped by rule and state: a heading, the findings, why and fix.
fn groups(out: &mut String, report: &Report, findings: &[&Finding], links: Option<&str>) {
    for (group, count) in rule_groups(findings) {
        let f = group[0];
        let _ = writeln!(
            out,
            "**{}** `{}` {}{count}\n",
            f.state.as_str().to_uppercase(),
            f.rule,
            escape(&f.title)
        );
        let (listed, hidden) = collapse(report, group);
        for (f, times) in listed {
            let again = match times {
                1 => String::new(),
                n => format!(" (×{n}, the first shown)"),
            };
            let _ = writeln!(out, "- {}{again}", finding_line(f, links));
        }
        if let Some(more) = more_like_this(group, hidden) {
            let _ = writeln!(out, "- *{}*", escape(&more));
        }
        let _ = writeln!(out, "\n*Why:* {}  ", escape(&f.why));
        let _ = writeln!(out, "*Fix:* {}\n", escape(&f.remediation));
    }
}

/// One finding: new-against-baseline tag, location and message.
fn finding_line(f: &Finding, links: Option<&str>) -> String {
    let tag = match change_tag(f) {
        "" => String::new(),
        tag => format!("🆕 **{tag}** "),
    };
    let loc = f
        .location
        .as_ref()
        .map(|l| format!("{} — ", location(l, links)))
        .unwrap_or_default();
    format!("{tag}{loc}{}", escape(&f.message))
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn repository_text_is_inert() {
        assert_eq!(
            escape("@org/team <img src=x onerror=alert(1)> a|b"),
            "&#64;org/team &lt;img src=x onerror=alert(1)&gt; a\\|b"
        );
        assert_eq!(escape("line\n## heading"), "line \\#\\# heading");
    }

    #[test]
    fn balanced_backticks_stay_code_spans() {
        assert_eq!(
            escape("add a `runbook_url` to <x>"),
            "add a `runbook_url` to &lt;x&gt;"
        );
        // Inside a span nothing is interpreted, so a mention stays text.
        assert_eq!(escape("`@org <b>`"), "`@org <b>`");
        // Unbalanced or empty: escaped.
        assert_eq!(escape("a ` b"), "a \\` b");
        assert_eq!(escape("a `` b"), "a \\`\\` b");
        // An autolink written up to a backtick would take it: no span.
        assert_eq!(
            escape("see www.example.com/`<img src=x onerror=alert(1)>`"),
            "see www.example.com/\\`&lt;img src=x onerror=alert(1)&gt;\\`"
        );
        assert_eq!(
            escape("https://e.example/`<a href=javascript:x>`"),
            "https://e.example/\\`&lt;a href=javascript:x&gt;\\`"
        );
        // After a space or an opening bracket, a span stays a span.
        assert_eq!(
            escape("render (`helm template .`)"),
            "render (`helm template .`)"
        );
    }
}
