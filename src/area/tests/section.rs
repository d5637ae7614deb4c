//! The tests section of the evidence: what this run's JUnit reports say
//! (counts, durations, failures, tests that flaked in the run) and, with a
//! history of past runs, each test's flake rate.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::evidence::Location;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Tests {
    /// Where the reports came from; `None` when no report source was given
    /// and none was found.
    pub source: Option<ReportSource>,
    /// The globs read (given, or the default places runners write to).
    pub patterns: Vec<String>,
    /// Every report read, with its counts.
    pub reports: Vec<TestReport>,
    /// Reports that could not be read, or not all of them (truncated,
    /// empty, over a cap): their tests are missing from the counts.
    pub unread: Vec<UnreadReport>,
    /// Files found by name that were not read as this run's reports, and
    /// why (committed test data, another tool's XML): the first 100.
    pub set_aside: Vec<SetAside>,
    /// How many files were set aside in all.
    pub set_aside_total: u64,
    /// How found reports were judged, when not as usual (git could not
    /// say which are committed).
    pub discovery_note: Option<String>,
    /// This run: every report together.
    pub totals: TestCounts,
    /// `time` attributes over a week (or negative), not counted: a runner
    /// writing nanoseconds or milliseconds.
    pub implausible_times: Option<ImplausibleTimes>,
    /// The slowest suites, slowest first (at most 20).
    pub slowest_suites: Vec<SuiteTime>,
    /// The slowest tests, slowest first (at most 10).
    pub slowest_tests: Vec<TestTime>,
    /// Tests that failed or errored in this run (the first 500; `totals`
    /// counts them all).
    pub failures: Vec<TestResult>,
    /// Tests that failed and then passed on a retry in this run (the first
    /// 500).
    pub flaky_in_run: Vec<TestResult>,
    /// Past runs, when a history was given.
    pub history: Option<History>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReportSource {
    /// `--junit`.
    Given,
    /// The manifest's `tests.junit`.
    Manifest,
    /// Found where test runners write reports.
    Discovered,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TestCounts {
    /// Distinct tests (retries of one test count once).
    pub tests: u64,
    pub passed: u64,
    pub failed: u64,
    pub errored: u64,
    pub skipped: u64,
    /// Passed after failing in the same run.
    pub flaky: u64,
    /// Seconds: the suites' own times, or their tests' when they give none.
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TestReport {
    /// Repository-relative, or `$RUNNER_TEMP/...`.
    pub location: Location,
    pub counts: TestCounts,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ImplausibleTimes {
    pub count: u64,
    /// The first of them.
    pub location: Location,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SetAside {
    pub location: Location,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct UnreadReport {
    pub location: Location,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SuiteTime {
    pub name: String,
    pub seconds: f64,
    pub location: Location,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TestTime {
    pub id: String,
    pub seconds: f64,
    pub location: Location,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TestResult {
    /// `classname::name`.
    pub id: String,
    /// The test's source when the report names it, else its `<testcase>`
    /// in the report.
    pub location: Location,
    /// The report it is in, when `location` is the test's source.
    pub report: Option<Location>,
    pub message: Option<String>,
    /// How many times it ran in this run.
    pub attempts: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct History {
    /// The folder read.
    pub path: String,
    /// Runs read, newest first, within the window.
    pub runs: Vec<HistoryRun>,
    /// Runs where most tests failed: infrastructure, not tests; left out.
    pub excluded: Vec<HistoryRun>,
    /// The window: the last this many runs.
    pub window: usize,
    /// Tests that flaked at least once in the window, worst first.
    pub flaky: Vec<FlakyTest>,
    /// Tests seen in the window.
    pub tests_seen: u64,
    /// Runs or reports of the history that could not be read, or not all
    /// of them: flake rates leave them out.
    pub unread: Vec<UnreadReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HistoryRun {
    pub run_id: String,
    pub attempt: u32,
    pub commit: String,
    pub started_at: String,
    pub tests: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FlakyTest {
    pub id: String,
    /// The test's source when a report named it, else the run folder.
    pub location: Location,
    /// Runs in the window that ran it.
    pub runs: u64,
    pub passes: u64,
    pub failures: u64,
    /// Runs where it flaked: it failed and then passed on a retry in the
    /// run, or it failed on a commit where it also passed.
    pub flaky_runs: u64,
    /// `flaky_runs / runs`.
    pub flake_rate: f64,
    /// Outcome flips between consecutive runs / results.
    pub disruption: f64,
    pub first_flaky: String,
    pub last_flaky: String,
    /// The run, attempt and commit of the last flake.
    pub last_flaky_run: String,
    /// Its first flake is in the newest run of the window.
    pub new: bool,
}
