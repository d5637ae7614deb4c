//! Markdown for a job summary or PR comment: verdict first, then what needs
//! attention grouped by area, then what passed (collapsed).

use std::fmt::Write;

use super::{areas, verdict_line};
use crate::findings::{Report, State};

/// Make repository text inert in Markdown: no HTML, no @mentions, no
/// emphasis, links or table breaks.
pub fn escape(text: &str) -> String {
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

/// The Markdown report; with `links`, locations link to the file lines.
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
    let _ = writeln!(out, "**{}**\n", escape(&verdict_line(report)));
    let needs: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.needs_attention())
        .collect();
    for area in areas(needs.iter().copied()) {
        let _ = writeln!(out, "### {}\n", escape(&area));
        for f in needs.iter().filter(|f| f.area == area) {
            let loc = f
                .location
                .as_ref()
                .map(|l| match links {
                    Some(base) => format!(" — {}", file_link(base, l)),
                    None => format!(" — {}", escape(&l.to_string())),
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- **{}** `{}` {}{loc}  ",
                f.state.as_str().to_uppercase(),
                f.rule,
                escape(&f.title)
            );
            let _ = writeln!(out, "  {}  ", escape(&f.message));
            let _ = writeln!(out, "  *Why:* {}  ", escape(&f.why));
            let _ = writeln!(out, "  *Fix:* {}", escape(&f.remediation));
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
            let target = f
                .target
                .as_deref()
                .map(|t| format!(" ({})", escape(t)))
                .unwrap_or_default();
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
}
