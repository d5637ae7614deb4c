//! Test history from a folder of past runs (`--junit-history DIR`): one
//! subfolder per run with its JUnit XML and a `run.json` (`commit`,
//! `started_at`, `run_id`, `attempt`). A flake is a test that both passed
//! and failed on the same commit (re-run attempts of one workflow run are
//! one commit), or that failed and then passed on a retry within a run.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::junit::Result;
use super::junit::clean;
use super::reports::{self, ReportFile};
use super::section::{FlakyTest, History, HistoryRun};
use crate::evidence::{Location, Problem, ProblemKind};

/// Runs looked at: the last this many.
pub const WINDOW: usize = 30;
/// A run where more than this share of tests failed is an infrastructure
/// failure, left out.
pub const INFRA_FAILURE_SHARE: f64 = 0.8;
/// Most distinct tests followed across the window.
const MAX_TESTS: usize = 200_000;
/// Most flaky tests listed.
const MAX_FLAKY: usize = 1_000;
/// The largest `run.json` read.
const MAX_RUN_JSON: u64 = 64 * 1024;

#[derive(Deserialize)]
struct RunJson {
    commit: String,
    started_at: String,
    #[serde(default)]
    run_id: serde_json::Value,
    /// A number, or a number as text (`"${{ github.run_attempt }}"`).
    #[serde(default)]
    attempt: serde_json::Value,
}

#[derive(Default)]
struct Stats {
    runs: u64,
    passes: u64,
    failures: u64,
    flaky_runs: u64,
    flips: u64,
    last: Option<bool>,
    first_flaky: Option<String>,
    last_flaky: Option<String>,
    /// The run, attempt and commit of the last flake.
    last_flaky_run: Option<String>,
    location: Option<Location>,
}

/// Most run folders read.
const MAX_RUNS: usize = 10_000;
/// Most test results held across the window's runs.
const MAX_HELD_RESULTS: usize = 1_000_000;

/// A run's `run.json`: a regular file (not a FIFO, a device or a symlink),
/// read no further than its cap.
fn read_run_json(path: &Path) -> std::result::Result<RunJson, String> {
    use std::io::Read;
    let meta = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    if !meta.file_type().is_file() {
        return Err("not a regular file".into());
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_RUN_JSON + 1).read_to_string(&mut text))
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_RUN_JSON {
        return Err("over 64 KiB".into());
    }
    serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| e.to_string())
}

pub fn read(root: &Path, dir: &Path, max_report_size: u64, problems: &mut Vec<Problem>) -> History {
    let shown_dir = dir.display().to_string();
    let mut history = History {
        path: shown_dir.clone(),
        window: WINDOW,
        ..History::default()
    };
    let problem = |kind, path: String, message: String| Problem {
        kind,
        document_kind: Some("junit-history".into()),
        location: Location::file(path),
        message,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(problem(
                ProblemKind::Unreadable,
                shown_dir,
                format!("cannot read the test history folder: {e}"),
            ));
            return history;
        }
    };
    // Every run's run.json; the window is the newest WINDOW of them.
    let mut runs: Vec<(HistoryRun, std::path::PathBuf, String)> = Vec::new();
    let mut subdirs: Vec<std::path::PathBuf> = Vec::new();
    for e in entries.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => subdirs.push(e.path()),
            // A run folder that is a symlink may lead anywhere.
            Ok(t) if t.is_symlink() => problems.push(problem(
                ProblemKind::SymlinkOutsideRoot,
                format!("{shown_dir}/{}", e.file_name().to_string_lossy()),
                "a run folder that is a symlink; not read".into(),
            )),
            _ => {}
        }
    }
    subdirs.sort();
    if subdirs.len() > MAX_RUNS {
        problems.push(problem(
            ProblemKind::OverBudget,
            shown_dir.clone(),
            format!(
                "{} run folders, over {MAX_RUNS}; keep the newest runs only (the window is {WINDOW})",
                subdirs.len()
            ),
        ));
        // Run folders are usually named in time order: keep the last.
        subdirs.drain(..subdirs.len() - MAX_RUNS);
    }
    for sub in subdirs {
        let name = sub
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = format!("{shown_dir}/{name}");
        let parsed = read_run_json(&sub.join("run.json")).and_then(|r| {
            // Ordered by real time: `+09:00` and `Z` compare right.
            chrono::DateTime::parse_from_rfc3339(&r.started_at)
                .map(|_| r)
                .map_err(|e| format!("started_at is not an RFC 3339 time: {e}"))
        });
        match parsed {
            Ok(r) => runs.push((
                HistoryRun {
                    // Shown in every report: one clean line each.
                    run_id: clean(&match r.run_id {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Null => name.clone(),
                        v => v.to_string(),
                    }),
                    attempt: match &r.attempt {
                        serde_json::Value::Number(n) => n.as_u64(),
                        serde_json::Value::String(s) => s.trim().parse().ok(),
                        _ => None,
                    }
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(1),
                    commit: clean(&r.commit),
                    started_at: r.started_at,
                    tests: 0,
                    failed: 0,
                },
                sub,
                shown,
            )),
            Err(e) => problems.push(problem(
                ProblemKind::Unparseable,
                format!("{shown}/run.json"),
                format!("run.json {{commit, started_at, run_id, attempt}} is needed to place this run: {e}"),
            )),
        }
    }
    // Newest first.
    let time = |r: &HistoryRun| chrono::DateTime::parse_from_rfc3339(&r.started_at).ok();
    runs.sort_by(|a, b| {
        (time(&b.0), &b.0.run_id, b.0.attempt).cmp(&(time(&a.0), &a.0.run_id, a.0.attempt))
    });
    runs.truncate(WINDOW);

    // Each run's results; infrastructure failures left out.
    let mut kept: Vec<(HistoryRun, reports::Results)> = Vec::new();
    let mut listed = 0usize;
    let mut held = 0usize;
    for (mut run, sub, shown) in runs {
        let found = reports::find(
            &sub,
            &format!("{shown}/"),
            &["**/*.xml".to_string()],
            &mut listed,
        );
        problems.extend(found.problems);
        let files: Vec<ReportFile> = found.files;
        let read = reports::read(root, &files, max_report_size, true, problems);
        run.tests = read.counts.tests;
        run.failed = read.counts.failed + read.counts.errored;
        let results = read.results.unwrap_or_default();
        if run.tests > 0 && run.failed as f64 / run.tests as f64 > INFRA_FAILURE_SHARE {
            history.excluded.push(run);
            continue;
        }
        // Newest first: past the budget, the older runs are not followed.
        held += results.len();
        if held > MAX_HELD_RESULTS {
            problems.push(problem(
                ProblemKind::OverBudget,
                shown,
                format!(
                    "the window's runs hold more than {MAX_HELD_RESULTS} test results; this run and older ones are not followed"
                ),
            ));
            break;
        }
        kept.push((run, results));
    }

    // Per commit: which tests passed somewhere and failed somewhere.
    let mut by_commit: HashMap<&str, HashMap<&str, (bool, bool)>> = HashMap::new();
    for (run, results) in &kept {
        let commit = by_commit.entry(run.commit.as_str()).or_default();
        for (id, (result, _, _)) in results {
            let seen = commit.entry(id.as_str()).or_default();
            seen.0 |= *result == Result::Passed;
            seen.1 |= matches!(result, Result::Failed | Result::Errored);
        }
    }
    // Oldest first, so flips and first/last are in time order.
    let mut stats: HashMap<String, Stats> = HashMap::new();
    let mut over = false;
    for (run, results) in kept.iter().rev() {
        let commit = &by_commit[run.commit.as_str()];
        for (id, (result, in_run_flaky, at)) in results {
            let (passed, failed) = match result {
                Result::Passed => (true, false),
                Result::Failed | Result::Errored => (false, true),
                Result::Skipped => continue,
            };
            if !stats.contains_key(id) && stats.len() >= MAX_TESTS {
                over = true;
                continue;
            }
            let s = stats.entry(id.clone()).or_default();
            s.runs += 1;
            s.passes += u64::from(passed);
            s.failures += u64::from(failed);
            if s.last.is_some_and(|l| l != passed) {
                s.flips += 1;
            }
            s.last = Some(passed);
            let flaked = *in_run_flaky || (failed && commit[id.as_str()].0);
            if flaked {
                s.flaky_runs += 1;
                s.first_flaky.get_or_insert_with(|| run.started_at.clone());
                s.last_flaky = Some(run.started_at.clone());
                s.last_flaky_run = Some(format!(
                    "run {} attempt {} on {}",
                    run.run_id,
                    run.attempt,
                    run.commit.get(..12).unwrap_or(&run.commit)
                ));
            }
            // The test's source when a report names it; else its testcase
            // in the newest run where it flaked.
            let at_source = !at.path.starts_with(&shown_dir);
            let have_source = s
                .location
                .as_ref()
                .is_some_and(|l| !l.path.starts_with(&shown_dir));
            if at_source || (!have_source && (flaked || s.location.is_none())) {
                s.location = Some(at.clone());
            }
        }
    }
    if over {
        problems.push(problem(
            ProblemKind::OverBudget,
            shown_dir.clone(),
            format!(
                "the history has more than {MAX_TESTS} distinct tests; the rest were not followed"
            ),
        ));
    }
    let newest = kept.first().map(|(r, _)| r.started_at.clone());
    history.tests_seen = stats.len() as u64;
    let mut flaky: Vec<FlakyTest> = stats
        .into_iter()
        .filter(|(_, s)| s.flaky_runs > 0)
        .map(|(id, s)| {
            let results = s.passes + s.failures;
            FlakyTest {
                location: s.location.unwrap_or_else(|| Location::file(&shown_dir)),
                runs: s.runs,
                passes: s.passes,
                failures: s.failures,
                flaky_runs: s.flaky_runs,
                flake_rate: s.flaky_runs as f64 / s.runs.max(1) as f64,
                disruption: s.flips as f64 / results.max(1) as f64,
                new: s.first_flaky == newest,
                first_flaky: s.first_flaky.unwrap_or_default(),
                last_flaky: s.last_flaky.unwrap_or_default(),
                last_flaky_run: s.last_flaky_run.unwrap_or_default(),
                id,
            }
        })
        .collect();
    flaky.sort_by(|a, b| {
        b.flake_rate
            .total_cmp(&a.flake_rate)
            .then(b.flaky_runs.cmp(&a.flaky_runs))
            .then(a.id.cmp(&b.id))
    });
    flaky.truncate(MAX_FLAKY);
    history.flaky = flaky;
    history.runs = kept.into_iter().map(|(r, _)| r).collect();
    history
}
