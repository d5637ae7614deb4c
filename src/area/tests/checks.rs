//! Checks about test reports and test history.

use schemars::JsonSchema;
use serde::Deserialize;

use super::section::{FlakyTest, ReportSource, TestResult, Tests};
use crate::check::{Check, Context, NoParams, Outcome, ParamsError};

const NO_REPORTS: &str = "no test reports given (--junit, the manifest's `tests.junit`) and none found where test runners write them";

/// Why there are no reports, naming what was found and set aside.
fn no_reports(t: &Tests) -> String {
    let said = match t.set_aside.first() {
        None => NO_REPORTS.to_string(),
        Some(first) => format!(
            "{NO_REPORTS}; {} file(s) found by name were set aside, {} first ({}): give this run's reports with --junit",
            t.set_aside_total, first.location.path, first.reason
        ),
    };
    with_note(said, t)
}

/// A message with how found reports were judged, when that was unusual.
fn with_note(message: String, t: &Tests) -> String {
    match &t.discovery_note {
        Some(note) => format!("{message} ({note})"),
        None => message,
    }
}

fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

/// A test's finding, or, when the policy quarantines it, the same finding
/// as a skip that says so: reported, not counted.
fn unless_quarantined(o: Outcome, id: &str, ctx: &Context) -> Outcome {
    if ctx.quarantine.iter().any(|q| q == id) {
        Outcome {
            status: crate::check::Status::Skip,
            message: format!("quarantined by the policy: {}", o.message),
            ..o
        }
    } else {
        o
    }
}

fn outcome_at(o: Outcome, t: &TestResult) -> Outcome {
    let o = o.target(&t.id).at(t.location.clone());
    match &t.report {
        Some(r) => o.related(r.clone()),
        None => o,
    }
}

pub struct TestsRan;

impl Check for TestsRan {
    type Section = Tests;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "tests-ran"
    }
    fn summary(&self) -> &'static str {
        "Tests ran: the JUnit reports given (or found) hold at least one test. Skips when no report source is given."
    }
    fn run(&self, t: &Tests, _: &NoParams, _: &Context) -> Vec<Outcome> {
        let Some(source) = t.source else {
            return vec![Outcome::skip(no_reports(t))];
        };
        // A report the test step broke (truncated, empty) or the gate could
        // not take whole: its tests are missing, whatever the rest say.
        let mut out: Vec<Outcome> = t
            .unread
            .iter()
            .map(|u| {
                Outcome::fail(format!(
                    "a test report was not read, or not all of it: {}",
                    u.message
                ))
                .at(u.location.clone())
            })
            .collect();
        if t.reports.is_empty() && !out.is_empty() {
            return out;
        }
        if t.reports.is_empty() {
            let from = match source {
                ReportSource::Given => "--junit",
                ReportSource::Manifest => "the manifest's `tests.junit`",
                ReportSource::Discovered => "the default report places",
            };
            return vec![Outcome::fail(format!(
                "no test report matched {from} ({}): did the test step run, and write its reports there?",
                t.patterns.join(", ")
            ))];
        }
        let c = &t.totals;
        if c.tests == 0 {
            out.push(
                Outcome::fail(format!(
                    "{} test report(s), 0 tests in them",
                    t.reports.len()
                ))
                .at(t.reports[0].location.clone()),
            );
            return out;
        }
        if out.is_empty() {
            out.push(Outcome::pass(with_note(
                format!(
                    "{} tests in {} report(s), {:.1} s",
                    c.tests,
                    t.reports.len(),
                    c.seconds
                ),
                t,
            )));
        }
        out
    }
}

pub struct TestsPassing;

impl Check for TestsPassing {
    type Section = Tests;
    type Params = NoParams;

    fn id(&self) -> &'static str {
        "tests-passing"
    }
    fn summary(&self) -> &'static str {
        "No test failed or errored in the reports of the gated commit (a test that passed on a retry is not a failure here; the flaky checks judge it). Tests the policy quarantines are reported as skips."
    }
    fn run(&self, t: &Tests, _: &NoParams, ctx: &Context) -> Vec<Outcome> {
        if t.reports.is_empty() {
            return vec![Outcome::skip(no_reports(t))];
        }
        let c = &t.totals;
        let failing = c.failed + c.errored;
        if failing == 0 {
            return vec![Outcome::pass(format!(
                "{} of {} tests passed ({} skipped)",
                c.passed, c.tests, c.skipped
            ))];
        }
        let mut out: Vec<Outcome> = t
            .failures
            .iter()
            .map(|f| {
                let what = match &f.message {
                    Some(m) if !m.is_empty() => format!("`{}` failed: {m}", f.id),
                    _ => format!("`{}` failed", f.id),
                };
                unless_quarantined(outcome_at(Outcome::fail(what), f), &f.id, ctx)
            })
            .collect();
        let more = failing.saturating_sub(t.failures.len() as u64);
        if more > 0 {
            out.push(Outcome::fail(format!(
                "{more} more failing tests, not listed by name"
            )));
        }
        out
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FlakeParams {
    /// The highest flake rate (flaky runs / runs) a test may have.
    max_rate: f64,
    /// Runs in the window a test needs before its rate is judged; below
    /// that, any flake is reported by `tests-flaky`.
    min_runs: u64,
}

impl Default for FlakeParams {
    fn default() -> Self {
        Self {
            max_rate: 0.02,
            min_runs: 20,
        }
    }
}

fn validate_flake(p: &FlakeParams) -> Result<(), ParamsError> {
    if !(0.0..=1.0).contains(&p.max_rate) {
        return Err(ParamsError(format!(
            "max_rate {} is not a share between 0 and 1",
            p.max_rate
        )));
    }
    Ok(())
}

fn flaky_outcome(f: &FlakyTest, why: String) -> Outcome {
    Outcome::fail(format!(
        "`{}` flaked in {} of {} runs ({}), first {}, last {} ({}){why}",
        f.id,
        f.flaky_runs,
        f.runs,
        percent(f.flake_rate),
        f.first_flaky,
        f.last_flaky,
        f.last_flaky_run
    ))
    .target(&f.id)
    .at(f.location.clone())
}

pub struct TestsFlakeRate;

impl Check for TestsFlakeRate {
    type Section = Tests;
    type Params = FlakeParams;

    fn id(&self) -> &'static str {
        "tests-flake-rate"
    }
    fn summary(&self) -> &'static str {
        "No test flakes more often than `max_rate` over the history window (a flake: it failed and passed on the same commit, or passed on a retry), once it has `min_runs` runs."
    }
    fn validate(&self, p: &FlakeParams) -> Result<(), ParamsError> {
        validate_flake(p)
    }
    fn run(&self, t: &Tests, p: &FlakeParams, ctx: &Context) -> Vec<Outcome> {
        let Some(h) = &t.history else {
            return vec![Outcome::skip("no test history given (--junit-history)")];
        };
        // A history that gave nothing says nothing about flakes.
        if h.runs.is_empty() {
            let why = match h.unread.first() {
                Some(u) => format!("{} ({})", u.message, u.location.path),
                None if h.excluded.is_empty() => "the history folder holds no run".into(),
                None => "every run was left out as an infrastructure failure".into(),
            };
            return vec![Outcome::new(
                crate::check::Status::Unknown,
                format!("no past run of the test history could be used: {why}"),
            )];
        }
        let over: Vec<Outcome> = h
            .flaky
            .iter()
            .filter(|f| f.runs >= p.min_runs && f.flake_rate > p.max_rate)
            .map(|f| {
                let o = flaky_outcome(
                    f,
                    format!(
                        "; over the {} allowed (disruption {})",
                        percent(p.max_rate),
                        percent(f.disruption)
                    ),
                );
                unless_quarantined(o, &f.id, ctx)
            })
            .collect();
        if !over.is_empty() {
            return over;
        }
        vec![Outcome::pass(format!(
            "{} tests over {} runs ({} left out as infrastructure failures): none flakes more than {} once it has {} runs",
            h.tests_seen,
            h.runs.len(),
            h.excluded.len(),
            percent(p.max_rate),
            p.min_runs
        ))]
    }
}

pub struct TestsFlaky;

impl Check for TestsFlaky {
    type Section = Tests;
    type Params = FlakeParams;

    fn id(&self) -> &'static str {
        "tests-flaky"
    }
    fn summary(&self) -> &'static str {
        "Flakes worth a look before they become a rate: tests that failed and then passed on a retry in this run, tests that flaked in the history but have fewer than `min_runs` runs, and tests whose first flake is in the newest run."
    }
    fn validate(&self, p: &FlakeParams) -> Result<(), ParamsError> {
        validate_flake(p)
    }
    fn run(&self, t: &Tests, p: &FlakeParams, ctx: &Context) -> Vec<Outcome> {
        if t.reports.is_empty() && t.history.is_none() {
            return vec![Outcome::skip(no_reports(t))];
        }
        let mut out: Vec<Outcome> = t
            .flaky_in_run
            .iter()
            .map(|f| {
                outcome_at(
                    Outcome::fail(format!(
                        "`{}` failed and then passed on a retry in this run ({} attempts)",
                        f.id, f.attempts
                    )),
                    f,
                )
            })
            .collect();
        if let Some(h) = &t.history {
            out.extend(h.unread.iter().map(|u| {
                Outcome::fail(format!(
                    "part of the test history was not read, so flake rates leave it out: {}",
                    u.message
                ))
                .at(u.location.clone())
            }));
            for f in &h.flaky {
                let judged_by_rate = f.runs >= p.min_runs;
                if f.new {
                    out.push(flaky_outcome(f, "; newly flaky in the newest run".into()));
                } else if !judged_by_rate {
                    out.push(flaky_outcome(
                        f,
                        format!(
                            "; too few runs ({} of {}) to judge its rate",
                            f.runs, p.min_runs
                        ),
                    ));
                }
            }
        }
        let out: Vec<Outcome> = out
            .into_iter()
            .map(|o| {
                let id = o.target.clone().unwrap_or_default();
                unless_quarantined(o, &id, ctx)
            })
            .collect();
        if out.is_empty() {
            return vec![Outcome::pass(format!(
                "no test flaked in this run{}",
                if t.history.is_some() {
                    " or newly in the history"
                } else {
                    ""
                }
            ))];
        }
        out
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SkippedParams {
    /// The largest share of tests that may be skipped.
    max_share: f64,
    /// Fewer skipped tests than this are not judged: one skip in a suite
    /// of nine is over any share and says nothing.
    min_skipped: u64,
}

impl Default for SkippedParams {
    fn default() -> Self {
        Self {
            max_share: 0.1,
            min_skipped: 3,
        }
    }
}

pub struct TestsSkipped;

impl Check for TestsSkipped {
    type Section = Tests;
    type Params = SkippedParams;

    fn id(&self) -> &'static str {
        "tests-skipped"
    }
    fn summary(&self) -> &'static str {
        "No more than `max_share` of the tests in this run's reports are skipped (once at least `min_skipped` are)."
    }
    fn validate(&self, p: &SkippedParams) -> Result<(), ParamsError> {
        if !(0.0..=1.0).contains(&p.max_share) {
            return Err(ParamsError(format!(
                "max_share {} is not a share between 0 and 1",
                p.max_share
            )));
        }
        Ok(())
    }
    fn run(&self, t: &Tests, p: &SkippedParams, _: &Context) -> Vec<Outcome> {
        let c = &t.totals;
        if c.tests == 0 {
            return vec![Outcome::skip(no_reports(t))];
        }
        let share = c.skipped as f64 / c.tests as f64;
        vec![Outcome::when(
            share <= p.max_share || c.skipped < p.min_skipped,
            if share > p.max_share {
                format!(
                    "{} of {} tests skipped ({}; fewer than {} skips are not judged)",
                    c.skipped,
                    c.tests,
                    percent(share),
                    p.min_skipped
                )
            } else {
                format!(
                    "{} of {} tests skipped ({})",
                    c.skipped,
                    c.tests,
                    percent(share)
                )
            },
            format!(
                "{} of {} tests skipped ({}), over {}: skipped tests test nothing",
                c.skipped,
                c.tests,
                percent(share),
                percent(p.max_share)
            ),
        )]
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DurationParams {
    /// The longest the run's suites may take together, in seconds.
    max_seconds: f64,
}

impl Default for DurationParams {
    fn default() -> Self {
        Self {
            max_seconds: 1800.0,
        }
    }
}

pub struct TestsDuration;

impl Check for TestsDuration {
    type Section = Tests;
    type Params = DurationParams;

    fn id(&self) -> &'static str {
        "tests-duration"
    }
    fn summary(&self) -> &'static str {
        "The suites in this run's reports take no longer than `max_seconds` together; the slowest are named."
    }
    fn run(&self, t: &Tests, p: &DurationParams, _: &Context) -> Vec<Outcome> {
        let c = &t.totals;
        if c.tests == 0 {
            return vec![Outcome::skip(no_reports(t))];
        }
        // Times the report gives in another unit: the total is not what
        // ran, and the owner should know why.
        let mut out: Vec<Outcome> = t
            .implausible_times
            .iter()
            .map(|odd| {
                Outcome::fail(format!(
                    "{} test or suite time(s) over a week (or negative) were not counted: does the runner write nanoseconds or milliseconds?",
                    odd.count
                ))
                .at(odd.location.clone())
            })
            .collect();
        if c.seconds <= p.max_seconds {
            if out.is_empty() {
                out.push(Outcome::pass(format!(
                    "{:.0} s for {} tests, within {:.0} s",
                    c.seconds, c.tests, p.max_seconds
                )));
            }
            return out;
        }
        let slowest: Vec<String> = t
            .slowest_suites
            .iter()
            .take(3)
            // Suites of one runner share names (pytest's are all `pytest`):
            // the report says which.
            .map(|s| format!("{} {:.0} s ({})", s.name, s.seconds, s.location))
            .collect();
        let o = Outcome::fail(format!(
            "the suites of {} report(s) take {:.0} s together, over the {:.0} s budget; slowest: {}",
            t.reports.len(),
            c.seconds,
            p.max_seconds,
            slowest.join(", ")
        ));
        out.push(match t.slowest_suites.first() {
            Some(s) => o.at(s.location.clone()),
            None => o,
        });
        out
    }
}
