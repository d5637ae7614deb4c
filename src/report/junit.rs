//! JUnit XML of the gate's own results, for CI systems that display tests:
//! one suite per area, one test case per finding. Failures fail; unknowns are
//! errors (the evidence could not be observed); waived and skipped findings
//! are skipped; warnings pass with the warning in `system-out`.

use std::fmt::Write;

use crate::findings::{Finding, Report, State};

/// XML 1.0 cannot carry most control characters or U+FFFE, escaped or not.
fn xml(text: &str) -> String {
    crate::escape::xml(text)
}

pub fn render(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let c = &report.verdict.counts;
    let total = report.findings.len();
    let _ = writeln!(
        out,
        "<testsuites name=\"readygate\" tests=\"{total}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        c.fail,
        c.unknown,
        c.skip + c.waived
    );
    for area in super::areas(report.findings.iter()) {
        let cases: Vec<&Finding> = report.findings.iter().filter(|f| f.area == area).collect();
        let count = |s: &[State]| cases.iter().filter(|f| s.contains(&f.state)).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
            xml(&area),
            cases.len(),
            count(&[State::Fail]),
            count(&[State::Unknown]),
            count(&[State::Skip, State::Waived])
        );
        for f in cases {
            case(&mut out, f);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn case(out: &mut String, f: &Finding) {
    let name = match &f.target {
        Some(t) => format!("{} [{t}]", f.rule),
        None => f.rule.clone(),
    };
    let mut attrs = format!(
        "classname=\"readygate.{}\" name=\"{}\"",
        xml(&f.area),
        xml(&name)
    );
    if let Some(l) = &f.location {
        let _ = write!(attrs, " file=\"{}\"", xml(&l.path));
        if l.line > 0 {
            let _ = write!(attrs, " line=\"{}\"", l.line);
        }
    }
    let at = f
        .location
        .as_ref()
        .map(|l| format!("\nat {l}"))
        .unwrap_or_default();
    let detail = xml(&format!(
        "{}{at}\nwhy: {}\nfix: {}",
        f.message, f.why, f.remediation
    ));
    let message = xml(&f.message);
    let body = match f.state {
        State::Pass => String::new(),
        State::Fail => format!(
            "<failure message=\"{message}\" type=\"{}\">{detail}</failure>",
            f.severity.as_str()
        ),
        State::Unknown => format!("<error message=\"{message}\" type=\"unknown\">{detail}</error>"),
        State::Skip | State::Waived => {
            format!("<skipped message=\"{}: {message}\"/>", f.state.as_str())
        }
        State::Warn => format!("<system-out>warning: {detail}</system-out>"),
    };
    if body.is_empty() {
        let _ = writeln!(out, "    <testcase {attrs}/>");
    } else {
        let _ = writeln!(out, "    <testcase {attrs}>{body}</testcase>");
    }
}
