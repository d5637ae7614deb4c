//! New against fixed: each finding that needs attention is matched with the
//! baseline's by rule, target and file (not line, so moved code keeps its
//! findings), then what is left by rule and target (so a renamed file keeps
//! them too); `--fail-on new` blocks only on regressions.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use crate::findings::{BaselineState, Comparison, FailOn, Finding, FixedFinding, Report, State};

/// Mark `head`'s findings against `base` and decide the verdict under
/// `fail_on`.
pub fn compare(
    head: &mut Report,
    base: &Report,
    baseline_ref: &str,
    commit: &str,
    fail_on: FailOn,
) {
    let earlier: Vec<&Finding> = base
        .findings
        .iter()
        .filter(|f| f.needs_attention())
        .collect();
    let current: Vec<usize> = (0..head.findings.len())
        .filter(|&i| head.findings[i].needs_attention())
        .collect();
    // head index → matched baseline index
    let mut matched: HashMap<usize, usize> = HashMap::new();
    let mut used = vec![false; earlier.len()];
    pair(
        &head.findings,
        &current,
        &earlier,
        &mut matched,
        &mut used,
        Finding::identity,
    );
    pair(
        &head.findings,
        &current,
        &earlier,
        &mut matched,
        &mut used,
        Finding::rule_and_target,
    );

    // What the head says now about each fixed one (pass, waived, skip).
    let mut now: HashMap<(&str, Option<&str>), State> = HashMap::new();
    for f in head.findings.iter().filter(|f| !f.needs_attention()) {
        now.entry(f.rule_and_target()).or_insert(f.state);
    }
    let mut fixed: Vec<FixedFinding> = earlier
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(b, _)| FixedFinding {
            rule: b.rule.clone(),
            title: b.title.clone(),
            area: b.area.clone(),
            was: b.state,
            now: now.get(&b.rule_and_target()).copied(),
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
    for &i in &current {
        let f = &mut head.findings[i];
        let state = match matched.get(&i).map(|&j| earlier[j]) {
            None => BaselineState::New,
            // States are ordered worst first.
            Some(b) if f.state < b.state => BaselineState::Updated,
            Some(_) => BaselineState::Unchanged,
        };
        if state != BaselineState::Unchanged {
            new += 1;
        }
        f.baseline = Some(state);
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

/// Pair each unmatched head finding with the first unused baseline finding
/// of the same `key`, in order.
fn pair<'a, K: Hash + Eq>(
    findings: &'a [Finding],
    current: &[usize],
    earlier: &[&'a Finding],
    matched: &mut HashMap<usize, usize>,
    used: &mut [bool],
    key: impl Fn(&'a Finding) -> K,
) {
    let mut free: HashMap<K, VecDeque<usize>> = HashMap::new();
    for (j, b) in earlier.iter().enumerate().filter(|(j, _)| !used[*j]) {
        free.entry(key(b)).or_default().push_back(j);
    }
    for &i in current {
        if matched.contains_key(&i) {
            continue;
        }
        if let Some(j) = free
            .get_mut(&key(&findings[i]))
            .and_then(VecDeque::pop_front)
        {
            used[j] = true;
            matched.insert(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Counts, Verdict};
    use crate::policy::model::Mode;

    fn finding(rule: &str, target: &str, path: &str, line: u32, state: State) -> Finding {
        Finding {
            state,
            counts_against_level: state == State::Fail,
            ..Finding::example(rule, target, path, line)
        }
    }

    fn report(findings: Vec<Finding>, blocked: bool) -> Report {
        Report {
            report_version: 1,
            generator: String::new(),
            service: None,
            policy: Vec::new(),
            verdict: Verdict {
                level_reached: None,
                level_required: "bronze".into(),
                levels: vec!["bronze".into()],
                tier: None,
                branch: None,
                event: "push".into(),
                mode: Mode::Block,
                blocked,
                counts: Counts::default(),
            },
            findings,
            comparison: None,
            changes: None,
            policy_ref: None,
            max_per_rule: None,
        }
    }

    #[test]
    fn moved_renamed_worse_duplicated_and_fixed() {
        let base = report(
            vec![
                finding("r", "A", "a.yml", 10, State::Fail),
                finding("r", "B", "old.yml", 3, State::Fail),
                finding("w", "C", "a.yml", 20, State::Warn),
                finding("r", "D", "a.yml", 30, State::Fail),
                finding("r", "E", "a.yml", 40, State::Fail),
            ],
            true,
        );
        let mut head = report(
            vec![
                // Moved: same rule, target and file.
                finding("r", "A", "a.yml", 13, State::Fail),
                // The file was renamed.
                finding("r", "B", "new.yml", 3, State::Fail),
                // The warning now fails.
                finding("w", "C", "a.yml", 23, State::Fail),
                // One D before, two now.
                finding("r", "D", "a.yml", 33, State::Fail),
                finding("r", "D", "a.yml", 34, State::Fail),
                // E is waived now.
                finding("r", "E", "a.yml", 43, State::Waived),
            ],
            true,
        );
        compare(&mut head, &base, "main", "abc", FailOn::New);
        let states: Vec<_> = head.findings.iter().map(|f| f.baseline).collect();
        use BaselineState::*;
        assert_eq!(
            states,
            [
                Some(Unchanged),
                Some(Unchanged),
                Some(Updated),
                Some(Unchanged),
                Some(New),
                None
            ]
        );
        let c = head.comparison.as_ref().unwrap();
        assert_eq!((c.new, c.regressions), (2, 2));
        assert_eq!(c.fixed.len(), 1);
        assert_eq!(c.fixed[0].target.as_deref(), Some("E"));
        assert_eq!(c.fixed[0].now, Some(State::Waived));
        assert!(head.verdict.blocked && c.policy_blocks);
    }

    #[test]
    fn fail_on_new_lets_an_unchanged_block_through() {
        let base = report(vec![finding("r", "A", "a.yml", 1, State::Fail)], true);
        let mut head = report(vec![finding("r", "A", "a.yml", 9, State::Fail)], true);
        compare(&mut head, &base, "main", "abc", FailOn::New);
        assert!(!head.verdict.blocked);
        let mut head = report(vec![finding("r", "A", "a.yml", 9, State::Fail)], true);
        compare(&mut head, &base, "main", "abc", FailOn::All);
        assert!(head.verdict.blocked);
    }
}
