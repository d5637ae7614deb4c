//! The versioned JSON report (`report_version`).

use crate::findings::Report;

pub fn render(report: &Report) -> String {
    let mut out = serde_json::to_string_pretty(report).expect("reports serialize");
    out.push('\n');
    crate::escape::json(out)
}
