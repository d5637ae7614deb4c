//! New against fixed: each finding that needs attention is matched with the
//! baseline's by rule, target and file (not line, so moved code keeps its
//! findings), and `--fail-on new` blocks only on regressions.

use std::collections::{HashMap, VecDeque};

use crate::findings::{BaselineState, Comparison, FailOn, Finding, FixedFinding, Report};

/// Mark `head`'s findings against `base` and decide the verdict under
/// `fail_on`.
pub fn compare(
    head: &mut Report,
    base: &Report,
    baseline_ref: &str,
    commit: &str,
    fail_on: FailOn,
) {
    let mut earlier: HashMap<_, VecDeque<&Finding>> = HashMap::new();
    for f in base.findings.iter().filter(|f| f.needs_attention()) {
        earlier.entry(f.identity()).or_default().push_back(f);
    }
    // Decided first, written after: the map borrows from both reports.
    let states: Vec<Option<BaselineState>> = head
        .findings
        .iter()
        .map(|f| {
            if !f.needs_attention() {
                return None;
            }
            Some(
                match earlier.get_mut(&f.identity()).and_then(VecDeque::pop_front) {
                    None => BaselineState::New,
                    // States are ordered worst first.
                    Some(b) if f.state < b.state => BaselineState::Updated,
                    Some(_) => BaselineState::Unchanged,
                },
            )
        })
        .collect();
    let mut fixed: Vec<FixedFinding> = earlier
        .into_values()
        .flatten()
        .map(|b| FixedFinding {
            rule: b.rule.clone(),
            title: b.title.clone(),
            area: b.area.clone(),
            was: b.state,
            target: b.target.clone(),
            location: b.location.clone(),
        })
        .collect();
    fixed.sort_by(|a, b| {
        (a.was, &a.area, &a.rule, &a.location, &a.target).cmp(&(
            b.was,
            &b.area,
            &b.rule,
            &b.location,
            &b.target,
        ))
    });
    let mut new = 0;
    for (f, state) in head.findings.iter_mut().zip(states) {
        if state.is_some_and(|s| s != BaselineState::Unchanged) {
            new += 1;
        }
        f.baseline = state;
    }
    let regressions = head.findings.iter().filter(|f| f.is_regression()).count() as u32;
    let policy_blocks = head.verdict.blocked;
    head.verdict.blocked = policy_blocks && (fail_on == FailOn::All || regressions > 0);
    head.comparison = Some(Comparison {
        baseline_ref: baseline_ref.to_string(),
        baseline_commit: commit.to_string(),
        baseline_level: base.verdict.level_reached.clone(),
        new,
        regressions,
        fixed,
        fail_on,
        policy_blocks,
    });
}
