//! Test health: JUnit XML reports of this run (every common dialect,
//! streamed) and, given a history of past runs, each test's flake rate.
//! Reports are not walked: they are usually gitignored and often written
//! outside the checkout, so they are read after the walk, from the globs
//! the run was given (`--junit`, the manifest's `tests.junit`) or from
//! where test runners write them.

use std::path::{Path, PathBuf};

use crate::check::SectionCheck;
use crate::contract::{Area, Assembly};
use crate::document::{DocKind, Document, KindSpec, Sink};
use crate::evidence::scope::Scope;
use crate::evidence::{Location, Problem, ProblemKind};

mod checks;
mod history;
mod junit;
mod reports;
pub mod section;

pub use section::Tests;
use section::{ReportSource, SetAside, UnreadReport};

/// Found files set aside that the evidence lists (the rest are counted).
const MAX_SET_ASIDE: usize = 100;

pub struct TestsArea;

/// Nothing is collected during the walk.
pub enum Fact {}

impl Area for TestsArea {
    type Fact = Fact;
    type Section = Tests;

    fn name(&self) -> &'static str {
        "tests"
    }
    fn kinds(&self) -> &'static [KindSpec] {
        &[]
    }
    fn reads(&self) -> &'static [DocKind] {
        &[]
    }
    fn collect(&self, _: &Document, _: &mut Sink<Fact>) {}
    fn assemble(&self, _: Vec<Fact>, ctx: &Assembly, problems: &mut Vec<Problem>) -> Tests {
        let mut tests = Tests::default();
        // Relative to an absolute root, so `--junit $PWD/x.xml` with the
        // default root `.` is inside it.
        let root = std::path::absolute(ctx.root).unwrap_or_else(|_| ctx.root.to_path_buf());
        // The manifest's globs are policy: under --policy-ref, the base's.
        let manifest_globs = ctx
            .judging
            .tests
            .as_ref()
            .map(|t| t.junit.clone())
            .unwrap_or_default();
        let (source, patterns) = if !ctx.inputs.junit.is_empty() {
            (ReportSource::Given, ctx.inputs.junit.clone())
        } else if !manifest_globs.is_empty() {
            (ReportSource::Manifest, manifest_globs)
        } else {
            (
                ReportSource::Discovered,
                reports::DEFAULT_PATTERNS
                    .iter()
                    .map(|p| p.to_string())
                    .collect(),
            )
        };
        // Problems with reports fail tests.ran: a report the test step
        // broke must not read as fewer tests.
        let before = problems.len();
        let mut files = Vec::new();
        let mut listed = 0usize;
        let (bases, outside) = bases(&root, &ctx.inputs.report_roots, &patterns);
        for glob in outside {
            // Only the manifest gets here: --junit was checked before the scan.
            problems.push(Problem {
                kind: ProblemKind::Unreadable,
                document_kind: Some("junit-xml".into()),
                location: ctx
                    .manifest
                    .map_or_else(|| Location::file(""), |m| m.location.clone()),
                message: format!(
                    "tests.junit `{glob}` is outside the repository and $RUNNER_TEMP; not read"
                ),
            });
        }
        // Found by name, reports are judged: a report git tracks was
        // committed (a JUnit library's fixtures, a stale copy), this run's
        // output never is; outside git, a report in test scope is test data.
        let tracked = match (source, ctx.tree) {
            // The baseline: every report of its tree was committed.
            (ReportSource::Discovered, Some(tree)) => Ok(Some(
                tree.files()
                    .map(|(path, _)| path.to_string())
                    .filter(|p| p.to_ascii_lowercase().ends_with(".xml"))
                    .collect(),
            )),
            (ReportSource::Discovered, None) => crate::git::tracked(&root, "*.xml"),
            _ => Ok(None),
        };
        const COMMITTED: &str =
            "committed to git: test data or a stale copy, not this run's output";
        let is_tracked = |shown: &str| matches!(&tracked, Ok(Some(t)) if t.contains(shown));
        let mut set_aside = Vec::new();
        for (base, prefix, globs) in bases {
            let found = reports::find(&base, &prefix, &globs, &mut listed);
            for p in found.problems {
                // A committed symlink that leads nowhere is committed data.
                if p.kind == ProblemKind::SymlinkOutsideRoot && is_tracked(&p.location.path) {
                    set_aside.push(SetAside {
                        location: p.location,
                        reason: COMMITTED.into(),
                    });
                } else {
                    problems.push(p);
                }
            }
            files.extend(found.files);
        }
        if source == ReportSource::Discovered {
            // A history folder in the repository holds past runs, not this one.
            let history = ctx
                .inputs
                .junit_history
                .as_ref()
                .and_then(|h| std::path::absolute(h).ok());
            files.retain(|f| {
                std::path::absolute(&f.path)
                    .ok()
                    .zip(history.as_ref())
                    .is_none_or(|(p, h)| !p.starts_with(h))
            });
            // Another tool's XML is not a report. Each is listed with why;
            // a report that will not read is a problem, never a skip.
            if let Err(why) = &tracked {
                tests.discovery_note = Some(format!(
                    "git could not list the tracked files ({why}), so found reports were judged by their paths only"
                ));
            }
            files.retain(|f| {
                let reason = match &tracked {
                    Ok(Some(_)) if is_tracked(&f.shown) => Some(COMMITTED.to_string()),
                    Ok(Some(_)) => None,
                    Ok(None) | Err(_) => match ctx.scopes.scope(&reports::judged_path(&f.shown)) {
                        Scope::Production => None,
                        scope => Some(format!("its path is in {} scope", scope.as_str())),
                    },
                };
                let reason = reason.or_else(|| match reports::sniff(&f.path) {
                    reports::Sniffed::Junit => None,
                    reports::Sniffed::Other(what) => Some(format!("not a JUnit report: {what}")),
                    reports::Sniffed::Sidecar(why) => Some(why),
                    reports::Sniffed::Problem(kind, message) => {
                        problems.push(Problem {
                            kind,
                            document_kind: Some("junit-xml".into()),
                            location: Location::file(&f.shown),
                            message,
                        });
                        Some(String::new())
                    }
                });
                match reason {
                    None => true,
                    Some(reason) => {
                        if !reason.is_empty() {
                            set_aside.push(SetAside {
                                location: Location::file(&f.shown),
                                reason,
                            });
                        }
                        false
                    }
                }
            });
            for f in &mut files {
                f.sniffed = true;
            }
            tests.set_aside_total = set_aside.len() as u64;
            set_aside.truncate(MAX_SET_ASIDE);
            tests.set_aside = set_aside;
        }
        files.sort();
        files.dedup();
        if files.len() > reports::MAX_REPORTS {
            problems.push(Problem {
                kind: ProblemKind::OverBudget,
                document_kind: Some("junit-xml".into()),
                location: Location::file(&files[reports::MAX_REPORTS].shown),
                message: format!(
                    "more than {} test reports; the rest (from this one on) were not read",
                    reports::MAX_REPORTS
                ),
            });
            files.truncate(reports::MAX_REPORTS);
        }
        let run = reports::read(&root, &files, ctx.inputs.max_report_size, false, problems);
        if source != ReportSource::Discovered || !files.is_empty() || problems.len() > before {
            tests.source = Some(source);
            tests.patterns = patterns;
        }
        // This run's reports are CI output, not files of the repository:
        // tests.ran owns what broke in them (said once, not again by
        // evidence.readable).
        tests.unread = problems
            .drain(before..)
            .map(|p| UnreadReport {
                location: p.location,
                message: p.message,
            })
            .collect();
        tests.totals = run.counts;
        tests.reports = run.reports;
        // Sidecar files a glob matched (Failsafe's summary next to its
        // reports): listed, not read.
        for (location, reason) in run.set_aside {
            tests.set_aside_total += 1;
            if tests.set_aside.len() < MAX_SET_ASIDE {
                tests.set_aside.push(SetAside { location, reason });
            }
        }
        tests.implausible_times = run
            .odd_times
            .map(|(count, location)| section::ImplausibleTimes { count, location });
        tests.slowest_suites = run.slowest_suites;
        tests.slowest_tests = run.slowest_tests;
        tests.failures = run.failures;
        tests.flaky_in_run = run.flaky;
        if let Some(dir) = &ctx.inputs.junit_history {
            // A past run that will not read costs flake rates a run; it is
            // the flake checks' to say, not a broken read of this commit.
            let mut past = Vec::new();
            let mut history = history::read(&root, dir, ctx.inputs.max_report_size, &mut past);
            history.unread = past
                .into_iter()
                .map(|p| UnreadReport {
                    location: p.location,
                    message: p.message,
                })
                .collect();
            tests.history = Some(history);
        }
        tests
    }
    fn checks(&self) -> Vec<&'static dyn SectionCheck<Tests>> {
        vec![
            &checks::TestsRan,
            &checks::TestsPassing,
            &checks::TestsFlakeRate,
            &checks::TestsFlaky,
            &checks::TestsSkipped,
            &checks::TestsDuration,
        ]
    }
}

/// Where each pattern is looked for: relative ones under the root; absolute
/// ones under the root or a report root (`$RUNNER_TEMP`), shown from it.
/// Absolute patterns elsewhere were refused before the scan
/// ([`crate::contract::Inputs::validate`]).
type Base = (PathBuf, String, Vec<String>);

fn bases(root: &Path, report_roots: &[PathBuf], patterns: &[String]) -> (Vec<Base>, Vec<String>) {
    let mut out: Vec<Base> = Vec::new();
    let mut outside = Vec::new();
    let add = |out: &mut Vec<Base>, base: &Path, prefix: String, glob: String| match out
        .iter_mut()
        .find(|(b, _, _)| b == base)
    {
        Some((_, _, globs)) => globs.push(glob),
        None => out.push((base.to_path_buf(), prefix, vec![glob])),
    };
    for p in patterns {
        let path = Path::new(p);
        if p.split(['/', '\\']).any(|s| s == "..") {
            outside.push(p.clone());
        } else if !path.is_absolute() {
            add(
                &mut out,
                root,
                String::new(),
                p.trim_start_matches("./").to_string(),
            );
        } else {
            let roots = std::iter::once((root, String::new())).chain(
                report_roots
                    .iter()
                    .map(|r| (r.as_path(), "$RUNNER_TEMP/".to_string())),
            );
            let placed = roots.into_iter().find_map(|(base, prefix)| {
                let rest = path.strip_prefix(base).ok()?;
                Some((base, prefix, rest.to_string_lossy().replace('\\', "/")))
            });
            match placed {
                Some((base, prefix, rest)) => add(&mut out, base, prefix, rest),
                None => outside.push(p.clone()),
            }
        }
    }
    (out, outside)
}
