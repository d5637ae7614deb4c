//! Human output: what blocks the next level first, then the rest grouped
//! by area, each problem with its location, why and fix, then the verdict. Colour only when asked (a TTY without NO_COLOR).

use std::fmt::Write;

use super::{
    areas, blocks_next_level, change_tag, collapse, in_parens, more_like_this, next_level,
    next_step, policy_change_lines, rule_groups, scope_lines, tally, verdict_line,
};
use crate::findings::{Finding, Report, State};

struct Paint(bool);

impl Paint {
    fn code(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn state(&self, state: State) -> String {
        let (code, label) = match state {
            State::Fail => ("1;31", "FAIL"),
            State::Unknown => ("1;35", "UNKNOWN"),
            State::Warn => ("1;33", "WARN"),
            State::Waived => ("36", "WAIVED"),
            State::Pass => ("32", "PASS"),
            State::Skip => ("2", "SKIP"),
        };
        self.code(code, &format!("{label:<7}"))
    }
    fn dim(&self, text: &str) -> String {
        self.code("2", text)
    }
    fn bold(&self, text: &str) -> String {
        self.code("1", text)
    }
}

/// One line of repository text: no control, bidi or hidden character and
/// no newline reaches the TTY as itself.
fn clean(text: &str) -> String {
    crate::escape::line(text)
}

fn indent(text: &str, pad: &str) -> String {
    crate::escape::lines(text)
        .lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn render(report: &Report, colour: bool) -> String {
    let p = Paint(colour);
    let mut out = String::new();
    let packs: Vec<String> = report
        .policy
        .iter()
        .rev()
        .map(|pk| match &pk.version {
            Some(v) => format!("{} {v}", pk.name),
            None => pk.name.clone(),
        })
        .collect();
    let service = report
        .service
        .as_deref()
        .map_or("(unnamed service)".to_string(), clean);
    let _ = writeln!(
        out,
        "{} {}  {}",
        p.bold("readygate"),
        p.bold(&service),
        p.dim(&clean(&format!("policy: {}", packs.join(" ← "))))
    );
    // The verdict and what to do next first; the details follow.
    let _ = writeln!(out, "{}", clean(&verdict_line(report)));
    if let Some(next) = next_step(report) {
        let _ = writeln!(out, "{}", p.bold(&clean(&next)));
    }

    // What keeps the service below its next level comes first, across
    // areas; each area then lists the rest.
    let blocking: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.needs_attention() && blocks_next_level(report, f))
        .collect();
    if let (false, Some(next)) = (blocking.is_empty(), next_level(report)) {
        let _ = writeln!(out, "\n{}", p.bold(&clean(&format!("blocking {next}"))));
        groups(&mut out, &p, report, &blocking);
    }
    for area in areas(report.findings.iter()) {
        let in_area: Vec<&Finding> = report.findings.iter().filter(|f| f.area == area).collect();
        let _ = writeln!(out, "\n{}", p.bold(&clean(&area)));
        let attention: Vec<&Finding> = in_area
            .iter()
            .copied()
            .filter(|f| f.needs_attention() && !blocks_next_level(report, f))
            .collect();
        groups(&mut out, &p, report, &attention);
        // One line per waiver, however many findings it covers.
        let waived = tally(
            in_area.iter().copied().filter(|f| f.state == State::Waived),
            |a, b| {
                a.rule == b.rule
                    && a.waiver.as_ref().map(|w| &w.location)
                        == b.waiver.as_ref().map(|w| &w.location)
            },
        );
        for (f, n) in waived {
            let Some(w) = f.waiver.as_ref() else {
                continue;
            };
            let target = match n {
                1 => in_parens(f.target.as_deref(), clean),
                n => format!(" ({n} findings)"),
            };
            let _ = writeln!(
                out,
                "  {} {}{target}  by {} until {}: {}",
                p.state(f.state),
                clean(&f.rule),
                clean(&w.owner),
                w.expires,
                clean(&w.reason)
            );
        }
        let passed = in_area.iter().filter(|f| f.state == State::Pass).count();
        let skipped = in_area.iter().filter(|f| f.state == State::Skip).count();
        if passed + skipped > 0 {
            let _ = writeln!(
                out,
                "  {}",
                p.dim(&format!("{passed} passed, {skipped} skipped"))
            );
        }
    }

    if let Some(c) = report.comparison.as_ref().filter(|c| !c.fixed.is_empty()) {
        let _ = writeln!(
            out,
            "\n{}",
            p.bold(&format!("fixed since {}", clean(&c.baseline_ref)))
        );
        for f in &c.fixed {
            let target = in_parens(f.target.as_deref(), clean);
            let at = f
                .location
                .as_ref()
                .map(|l| format!(" at {}", clean(&l.to_string())))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {}{target}{at}  {}",
                p.code("32", "FIXED  "),
                clean(&f.rule),
                p.dim(&format!("({})", f.change()))
            );
        }
    }

    let c = &report.verdict.counts;
    let _ = writeln!(
        out,
        "\n{} pass, {} fail, {} warn, {} unknown, {} waived, {} skipped",
        c.pass, c.fail, c.warn, c.unknown, c.waived, c.skip
    );
    for line in scope_lines(report) {
        let _ = writeln!(out, "{}", clean(&line));
    }
    if let Some((heading, lines)) = policy_change_lines(report) {
        let _ = writeln!(out, "{}", p.bold(&clean(&heading)));
        for line in lines {
            let _ = writeln!(out, "  {}", indent(&line, "    ").trim_start());
        }
    }
    let line = clean(&verdict_line(report));
    let line = if report.verdict.blocked {
        p.code("1;31", &line)
    } else if report.verdict.level_reached_meets() {
        p.code("1;32", &line)
    } else {
        p.code("1;33", &line)
    };
    let _ = writeln!(out, "{} {line}", p.bold("verdict:"));
    out
}

/// One heading, why and fix per rule and state; its findings between.
fn groups(out: &mut String, p: &Paint, report: &Report, attention: &[&Finding]) {
    for (group, count) in rule_groups(attention) {
        let f = group[0];
        let _ = writeln!(
            out,
            "  {} {}  {} {}{count}",
            p.state(f.state),
            clean(&f.rule),
            clean(&f.title),
            p.dim(&format!("[{}]", clean(&f.level)))
        );
        let (listed, hidden) = collapse(report, group);
        for (f, times) in listed {
            let tag = change_tag(f);
            let again = match times {
                1 => String::new(),
                n => format!(" (×{n})"),
            };
            let message = if tag.is_empty() {
                indent(&format!("{}{again}", f.message), "          ")
            } else {
                format!(
                    "        {} {}",
                    p.code("1;33", &format!("{tag:<5}")),
                    indent(&f.message, "").trim_start()
                )
            };
            let _ = writeln!(out, "{message}");
            if let Some(loc) = &f.location {
                // The same message in several places: the first is shown.
                let more = match times {
                    1 => String::new(),
                    n => format!(" and {} more", n - 1),
                };
                let _ = writeln!(out, "            at {}{more}", clean(&loc.to_string()));
            }
        }
        if let Some(more) = more_like_this(group, hidden) {
            let _ = writeln!(out, "          {}", p.dim(&more));
        }
        let _ = writeln!(
            out,
            "{}",
            p.dim(&indent(&format!("why: {}", f.why), "          "))
        );
        let _ = writeln!(
            out,
            "{}",
            indent(&format!("fix: {}", f.remediation), "          ")
        );
    }
}
