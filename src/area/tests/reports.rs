//! Finding test reports and reading one run's worth of them: totals, the
//! slowest suites and tests, failures and in-run flakes, and (for history)
//! every test's result.

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::junit::{self, Case, Result};
use super::section::*;
use crate::evidence::{Location, Problem, ProblemKind};

/// A report file: where it is, and how findings name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReportFile {
    pub path: PathBuf,
    /// Repository-relative, or under `$RUNNER_TEMP/`.
    pub shown: String,
    /// Discovery already sniffed it and found JUnit: reading does not
    /// sniff it again.
    pub sniffed: bool,
}

/// Most directory entries listed to find the reports of one run.
const MAX_LISTING: usize = 200_000;
/// Most report globs one run takes.
pub const MAX_PATTERNS: usize = 100;
/// Directories never searched for reports: dependencies and caches.
const PRUNED: &[&str] = &[
    ".git",
    "node_modules",
    ".venv",
    "venv",
    ".tox",
    ".gradle",
    ".m2",
    "__pycache__",
    ".cache",
];
/// Most report files read for one run.
pub const MAX_REPORTS: usize = 10_000;
/// Most failures and in-run flakes listed by name (all are counted).
const MAX_LISTED: usize = 500;
const SLOWEST_TESTS: usize = 10;
const SLOWEST_SUITES: usize = 20;

/// Where runners write JUnit XML by default: Maven Surefire and Failsafe,
/// Gradle, nextest, pytest's and jest-junit's usual names, go-junit-report.
pub const DEFAULT_PATTERNS: &[&str] = &[
    "**/TEST-*.xml",
    "**/surefire-reports/*.xml",
    "**/failsafe-reports/*.xml",
    "**/test-results/**/*.xml",
    "**/nextest/*/junit.xml",
    "**/junit*.xml",
    "**/*-junit.xml",
    "**/*.junit.xml",
    "**/report.xml",
];

/// What finding reports gave: the files, and what went wrong on the way
/// (a listing budget spent, a symlink that leads out).
#[derive(Default)]
pub struct Found {
    pub files: Vec<ReportFile>,
    pub problems: Vec<Problem>,
}

/// The files `patterns` match under `base`, shown as `prefix` + their path
/// under `base`. Gitignored files count (reports usually are); `.git`,
/// dependency and cache directories are not entered; a symlink is read when
/// it leads to a file inside `base`.
pub fn find(base: &Path, prefix: &str, patterns: &[String], listed: &mut usize) -> Found {
    let mut found = Found::default();
    let problem = |kind, path: String, message: String| Problem {
        kind,
        document_kind: Some("junit-xml".into()),
        location: Location::file(path),
        message,
    };
    let patterns = if patterns.len() > MAX_PATTERNS {
        found.problems.push(problem(
            ProblemKind::OverBudget,
            prefix.to_string(),
            format!("more than {MAX_PATTERNS} report globs; the rest are not used"),
        ));
        &patterns[..MAX_PATTERNS]
    } else {
        patterns
    };
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        match GlobBuilder::new(p).literal_separator(true).build() {
            Ok(glob) => {
                set.add(glob);
            }
            Err(e) => found.problems.push(problem(
                ProblemKind::Unparseable,
                prefix.to_string(),
                format!("report glob `{p}` does not compile: {e}"),
            )),
        }
    }
    let Ok(set) = set.build() else {
        return found;
    };
    let set: GlobSet = set;
    // Most entries are not XML: when every pattern wants `.xml`, a name
    // test saves the glob match.
    let xml_only = patterns.iter().all(|p| p.ends_with(".xml"));
    // Walk only below the patterns' literal directories, and no deeper
    // than they reach (`reports/*.xml` is one level).
    let mut starts: Vec<(PathBuf, Option<usize>)> =
        patterns.iter().map(|p| literal_dir(base, p)).collect();
    starts.sort();
    starts.dedup();
    let base_canonical = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
    let out = &mut found.files;
    'starts: for (i, (start, depth)) in starts.iter().enumerate() {
        // `..` in a pattern, or a symlinked directory, may not lead out.
        match start.canonicalize() {
            Ok(c) if c.starts_with(&base_canonical) => {}
            Ok(_) => {
                // Bazel's `bazel-testlogs` is such a link: say so, or the
                // glob reads as matching nothing.
                let shown = start.strip_prefix(base).map_or(String::new(), |d| {
                    format!("{prefix}{}", d.to_string_lossy())
                });
                found.problems.push(problem(
                    ProblemKind::SymlinkOutsideRoot,
                    shown.clone(),
                    format!(
                        "`{shown}` leads out of the tree (a symlink), so reports under it are not read: copy them into the workspace or $RUNNER_TEMP"
                    ),
                ));
                continue;
            }
            Err(_) => continue,
        }
        // A directory below another start is walked with it, unless that
        // one stops short of it.
        if starts[..i]
            .iter()
            .any(|(s, d)| d.is_none() && start.starts_with(s))
        {
            continue;
        }
        // A plain directory listing: most entries are only a name test
        // (the walker of the `ignore` crate costs four times as much here).
        let mut stack: Vec<(PathBuf, usize)> = vec![(start.clone(), 0)];
        while let Some((dir, level)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                *listed += 1;
                if *listed > MAX_LISTING {
                    // What was found so far still counts.
                    let at = dir.strip_prefix(base).map_or(String::new(), |d| {
                        format!("{prefix}{}", d.to_string_lossy())
                    });
                    found.problems.push(problem(
                        ProblemKind::OverBudget,
                        at,
                        format!(
                            "finding test reports listed more than {MAX_LISTING} directory entries, the last in this directory; name the reports with --junit or the manifest's tests.junit"
                        ),
                    ));
                    break 'starts;
                }
                let (Ok(kind), name) = (entry.file_type(), entry.file_name()) else {
                    continue;
                };
                // Symlinks are not followed.
                if kind.is_dir() {
                    let pruned = name.to_str().is_some_and(|n| PRUNED.contains(&n));
                    if !pruned && depth.is_none_or(|d| level + 1 < d) {
                        stack.push((entry.path(), level + 1));
                    }
                    continue;
                }
                if !(kind.is_file() || kind.is_symlink())
                    || (xml_only && !name.as_encoded_bytes().ends_with(b".xml"))
                {
                    continue;
                }
                let path = entry.path();
                let Some(rel) = path
                    .strip_prefix(base)
                    .ok()
                    .and_then(|r| r.to_str())
                    .map(|r| r.replace('\\', "/"))
                else {
                    continue;
                };
                if !set.is_match(&rel) {
                    continue;
                }
                let shown = format!("{prefix}{rel}");
                if kind.is_symlink()
                    && !path
                        .canonicalize()
                        .is_ok_and(|c| c.starts_with(&base_canonical) && c.is_file())
                {
                    found.problems.push(problem(
                        ProblemKind::SymlinkOutsideRoot,
                        shown,
                        "a test report that is a symlink out of the tree (or to no file); not read"
                            .into(),
                    ));
                    continue;
                }
                out.push(ReportFile {
                    path,
                    shown,
                    sniffed: false,
                });
            }
        }
    }
    out.sort();
    out.dedup();
    found
}

/// Directories runners write reports to, whose own names say nothing of
/// scope (Gradle's `test-results/test/` is no test data).
const OUTPUT_DIRS: &[&str] = &[
    "build/test-results/",
    "target/surefire-reports/",
    "target/failsafe-reports/",
    "target/nextest/",
];

/// The path whose scope decides whether a found report is this service's:
/// for a report in a runner's output directory, the project that holds it
/// (so `payments/build/test-results/test/` is production and
/// `tests/fixtures/app/target/surefire-reports/` test data).
pub fn judged_path(shown: &str) -> String {
    OUTPUT_DIRS
        .iter()
        .filter_map(|d| {
            shown
                .find(d)
                .filter(|i| *i == 0 || shown[..*i].ends_with('/'))
        })
        .min()
        .map_or_else(
            || shown.to_string(),
            |i| format!("{}report.xml", &shown[..i]),
        )
}

/// The directory under `base` a pattern's literal leading segments name,
/// and how deep below it the pattern reaches (`None`: any depth, `**`).
fn literal_dir(base: &Path, pattern: &str) -> (PathBuf, Option<usize>) {
    let mut dir = base.to_path_buf();
    let segments: Vec<&str> = pattern
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let mut literal = 0;
    for s in &segments[..segments.len().saturating_sub(1)] {
        if s.contains(['*', '?', '[', '{']) {
            break;
        }
        dir.push(s);
        literal += 1;
    }
    let rest = &segments[literal..];
    let depth = (!rest.iter().any(|s| s.contains("**"))).then_some(rest.len());
    (dir, depth)
}

/// What the first bytes of a file found by name say it is.
pub enum Sniffed {
    Junit,
    /// Another tool's XML (coverage, lint): not a test report; what it
    /// looks like.
    Other(String),
    /// A file runners or the gate write next to reports that is never a
    /// report (Failsafe's summary, readygate's own JUnit output): why.
    Sidecar(String),
    /// A report that will not read: empty, UTF-16, unreadable.
    Problem(ProblemKind, String),
}

/// Whether a file found by name is JUnit: `<testsuite`/`<testsuites`
/// (namespace prefix allowed) in its first 64 KiB.
pub fn sniff(path: &Path) -> Sniffed {
    use std::io::Read;
    let mut head = vec![0u8; 64 * 1024];
    let n = match File::open(path).and_then(|f| f.take(head.len() as u64).read(&mut head)) {
        Ok(n) => n,
        Err(e) => {
            return Sniffed::Problem(
                ProblemKind::Unreadable,
                format!("cannot read the test report: {e}"),
            );
        }
    };
    let head = &head[..n];
    if head.is_empty() {
        return Sniffed::Problem(
            ProblemKind::Empty,
            "the test report is empty (0 bytes): did the test step write it?".into(),
        );
    }
    // UTF-16 with or without its byte-order mark (`<\0?\0x\0`).
    if head.starts_with(&[0xff, 0xfe])
        || head.starts_with(&[0xfe, 0xff])
        || head.get(..2) == Some(b"<\0")
        || head.get(..2) == Some(b"\0<")
    {
        return Sniffed::Problem(
            ProblemKind::NotUtf8,
            "the test report is UTF-16; only UTF-8 reports are read".into(),
        );
    }
    let text = String::from_utf8_lossy(head);
    if text.contains("<testsuites name=\"readygate\"") {
        return Sniffed::Sidecar("readygate's own report (--format junit), not a test run".into());
    }
    let junit = text.match_indices("testsuite").any(|(i, _)| {
        text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c == '<' || c == ':')
    });
    if junit {
        return Sniffed::Junit;
    }
    // The first element that is not a declaration, comment or DOCTYPE.
    let root = text
        .match_indices('<')
        .map(|(i, _)| &text[i + 1..])
        .find(|t| !t.starts_with(['?', '!']))
        .map(|t| {
            let name: String = t
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
                .take(64)
                .collect();
            name.rsplit(':').next().unwrap_or_default().to_string()
        });
    if let Some(why) = root.as_deref().and_then(super::junit::sidecar) {
        return Sniffed::Sidecar(why.to_string());
    }
    Sniffed::Other(match root.as_deref() {
        Some(r) => match super::junit::other_format(r) {
            Some(what) => format!("root element <{r}>: {what}"),
            None => format!("root element <{r}>, no <testsuite> in its first 64 KiB"),
        },
        None => "no XML element in its first 64 KiB".into(),
    })
}

/// Every test of a run: its result, whether it flaked in the run, and
/// where it is.
pub type Results = BTreeMap<String, (Result, bool, Location)>;

/// One run's reports, read.
#[derive(Debug, Default)]
pub struct Run {
    pub counts: TestCounts,
    pub reports: Vec<TestReport>,
    pub slowest_suites: Vec<SuiteTime>,
    pub slowest_tests: Vec<TestTime>,
    pub failures: Vec<TestResult>,
    pub flaky: Vec<TestResult>,
    /// Every test's result and where it is, when asked (history).
    pub results: Option<Results>,
    /// Times not counted as implausible: how many, and the first.
    pub odd_times: Option<(u64, Location)>,
    /// Files matched that are not reports (sidecar files), and why.
    pub set_aside: Vec<(Location, String)>,
}

/// An f64 ordered for a min-heap of the slowest.
#[derive(PartialEq, PartialOrd)]
struct Slow<T: PartialEq>(std::cmp::Reverse<f64>, T);
impl<T: PartialEq> Eq for Slow<T> {}
#[allow(clippy::derive_ord_xor_partial_ord)]
impl<T: PartialEq + PartialOrd> Ord for Slow<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.partial_cmp(other).unwrap_or(std::cmp::Ordering::Equal)
    }
}

/// Keep the `n` slowest; `t` is made only for one that gets in.
fn keep_slowest<T: PartialEq + PartialOrd>(
    heap: &mut BinaryHeap<Slow<T>>,
    n: usize,
    s: f64,
    t: impl FnOnce() -> T,
) {
    let fastest_kept = heap.peek().map(|Slow(std::cmp::Reverse(f), _)| *f);
    if heap.len() >= n && fastest_kept.is_some_and(|f| s <= f) {
        return;
    }
    heap.push(Slow(std::cmp::Reverse(s), t()));
    if heap.len() > n {
        heap.pop();
    }
}

fn slowest<T: PartialEq + PartialOrd>(heap: BinaryHeap<Slow<T>>) -> Vec<(f64, T)> {
    // into_sorted_vec: ascending by Reverse, so slowest first.
    heap.into_sorted_vec()
        .into_iter()
        .map(|Slow(std::cmp::Reverse(s), t)| (s, t))
        .collect()
}

/// What one report gave.
#[derive(Default)]
struct FileRead {
    problem: Option<Problem>,
    report: Option<TestReport>,
    suites: Vec<(f64, (String, Location))>,
    tests: Vec<(f64, (String, Location))>,
    failures: Vec<TestResult>,
    flaky: Vec<TestResult>,
    results: Option<Results>,
    /// Implausible times: how many, and the first.
    odd_times: Option<(u64, Location)>,
    /// Not a report after all (a sidecar file), and why.
    set_aside: Option<(Location, String)>,
}

/// Read `files` as one run, several at a time, merged in file order (so
/// the output never depends on thread timing). `all_results` keeps every
/// test's result (for history). Reports that cannot be read are problems;
/// the rest counts.
pub fn read(
    root: &Path,
    files: &[ReportFile],
    max_size: u64,
    all_results: bool,
    problems: &mut Vec<Problem>,
) -> Run {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: std::sync::Mutex<Vec<Option<FileRead>>> =
        std::sync::Mutex::new((0..files.len()).map(|_| None).collect());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(files.len())
        .min(8);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let read = read_one(root, file, max_size, all_results);
                    done.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(read);
                }
            });
        }
    });
    let mut run = Run {
        results: all_results.then(BTreeMap::new),
        ..Run::default()
    };
    let (mut suites, mut tests) = (BinaryHeap::new(), BinaryHeap::new());
    for read in done
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
    {
        problems.extend(read.problem);
        run.set_aside.extend(read.set_aside);
        if let Some((n, at)) = read.odd_times {
            let total = run.odd_times.as_ref().map_or(0, |(t, _)| *t) + n;
            let first = run.odd_times.take().map_or(at, |(_, first)| first);
            run.odd_times = Some((total, first));
        }
        if let Some(report) = read.report {
            add(&mut run.counts, &report.counts);
            run.reports.push(report);
        }
        for (s, t) in read.suites {
            keep_slowest(&mut suites, SLOWEST_SUITES, s, || t);
        }
        for (s, t) in read.tests {
            keep_slowest(&mut tests, SLOWEST_TESTS, s, || t);
        }
        let room = MAX_LISTED.saturating_sub(run.failures.len());
        run.failures.extend(read.failures.into_iter().take(room));
        let room = MAX_LISTED.saturating_sub(run.flaky.len());
        run.flaky.extend(read.flaky.into_iter().take(room));
        if let (Some(all), Some(these)) = (run.results.as_mut(), read.results) {
            for (id, seen) in these {
                merge_result(all, id, seen);
            }
        }
    }
    run.slowest_suites = slowest(suites)
        .into_iter()
        .map(|(seconds, (name, location))| SuiteTime {
            name,
            seconds,
            location,
        })
        .collect();
    run.slowest_tests = slowest(tests)
        .into_iter()
        .map(|(seconds, (id, location))| TestTime {
            id,
            seconds,
            location,
        })
        .collect();
    run
}

fn read_one(root: &Path, file: &ReportFile, max_size: u64, all_results: bool) -> FileRead {
    let report_at = Location::file(&file.shown);
    let failed_read = |kind, message: String| FileRead {
        problem: Some(Problem {
            kind,
            document_kind: Some("junit-xml".into()),
            location: report_at.clone(),
            message,
        }),
        ..FileRead::default()
    };
    let size = match std::fs::metadata(&file.path) {
        Ok(m) => m.len(),
        Err(e) => {
            return failed_read(
                ProblemKind::Unreadable,
                format!("cannot read the test report: {e}"),
            );
        }
    };
    if size > max_size {
        return failed_read(
            ProblemKind::Oversize,
            format!("the test report is {size} bytes, over --max-report-size {max_size}; not read"),
        );
    }
    if size == 0 {
        return failed_read(
            ProblemKind::Empty,
            "the test report is empty (0 bytes): did the test step write it?".into(),
        );
    }
    match (!file.sniffed).then(|| sniff(&file.path)) {
        Some(Sniffed::Sidecar(why)) => {
            return FileRead {
                set_aside: Some((report_at.clone(), why)),
                ..FileRead::default()
            };
        }
        Some(Sniffed::Problem(kind, message)) => return failed_read(kind, message),
        _ => {}
    }
    let input = match File::open(&file.path) {
        Ok(f) => BufReader::with_capacity(64 * 1024, f),
        Err(e) => {
            return failed_read(
                ProblemKind::Unreadable,
                format!("cannot read the test report: {e}"),
            );
        }
    };
    let mut counts = TestCounts::default();
    let (mut case_seconds, mut suite_seconds) = (0.0, 0.0);
    let (mut suites, mut tests) = (BinaryHeap::new(), BinaryHeap::new());
    let mut results = all_results.then(BTreeMap::new);
    // Cases listed by name, with their offsets for line numbers.
    let mut listed: Vec<(bool, Case)> = Vec::new();
    let (mut n_failed, mut n_flaky) = (0, 0);
    // Implausible times: how many, and the first one's offset.
    let odd = std::cell::Cell::new((0u64, None::<u64>));
    let note_odd = |offset: u64| {
        let (n, first) = odd.get();
        odd.set((n + 1, first.or(Some(offset))));
    };
    let mut sources = Sources::new(root);
    let mut on_case = |c: Case| {
        counts.tests += 1;
        case_seconds += c.time;
        match c.result {
            Result::Passed => counts.passed += 1,
            Result::Failed => counts.failed += 1,
            Result::Errored => counts.errored += 1,
            Result::Skipped => counts.skipped += 1,
        }
        counts.flaky += u64::from(c.flaky);
        if c.odd_time {
            note_odd(c.offset);
        }
        keep_slowest(&mut tests, SLOWEST_TESTS, c.time, || {
            (c.id.clone(), sources.of(&c), c.offset)
        });
        if let Some(results) = results.as_mut() {
            let at = sources.of(&c).unwrap_or_else(|| report_at.clone());
            merge_result(results, c.id.clone(), (c.result, c.flaky, at));
        }
        let failed = matches!(c.result, Result::Failed | Result::Errored);
        if (failed && n_failed < MAX_LISTED) || (c.flaky && n_flaky < MAX_LISTED) {
            n_failed += usize::from(failed);
            n_flaky += usize::from(c.flaky);
            listed.push((failed, c));
        }
    };
    let mut on_suite = |s: junit::Suite| {
        // A nested suite's time is already in its parent's.
        if !s.nested {
            suite_seconds += s.time;
        }
        if s.odd_time {
            note_odd(s.offset);
        }
        keep_slowest(&mut suites, SLOWEST_SUITES, s.time, || (s.name, s.offset));
    };
    let broken = junit::read(input, &mut on_case, &mut on_suite).err();
    counts.seconds = if suite_seconds > 0.0 {
        suite_seconds
    } else {
        case_seconds
    };
    let (suites, tests) = (slowest(suites), slowest(tests));
    let (odd_times, first_odd) = odd.get();
    // Line numbers, in one more pass, only for what is shown.
    let mut offsets: Vec<u64> = listed.iter().map(|(_, c)| c.offset).collect();
    offsets.extend(broken.as_ref().map(|b| b.offset));
    offsets.extend(first_odd);
    offsets.extend(suites.iter().map(|(_, (_, o))| *o));
    offsets.extend(tests.iter().map(|(_, (_, _, o))| *o));
    offsets.sort_unstable();
    offsets.dedup();
    let lines = if offsets.is_empty() {
        Vec::new()
    } else {
        File::open(&file.path)
            .map(|f| junit::lines_at(BufReader::new(f), &offsets))
            .unwrap_or_default()
    };
    let line_of = |offset: u64| -> u32 {
        offsets
            .binary_search(&offset)
            .ok()
            .and_then(|i| lines.get(i).copied())
            .unwrap_or(1)
    };
    let in_report = |offset: u64| Location::new(&file.shown, line_of(offset), 1);
    let mut read = FileRead {
        suites: suites
            .into_iter()
            .map(|(s, (name, offset))| (s, (name, in_report(offset))))
            .collect(),
        tests: tests
            .into_iter()
            .map(|(s, (id, at, offset))| (s, (id, at.unwrap_or_else(|| in_report(offset)))))
            .collect(),
        odd_times: first_odd.map(|o| (odd_times, in_report(o))),
        results,
        ..FileRead::default()
    };
    for (failed, c) in listed {
        let in_report = in_report(c.offset);
        let (location, report) = match sources.of(&c) {
            Some(at) => (at, Some(in_report)),
            None => (in_report, None),
        };
        let result = TestResult {
            id: c.id,
            location,
            report,
            message: c.message,
            attempts: c.attempts,
        };
        if failed {
            read.failures.push(result.clone());
        }
        if c.flaky {
            read.flaky.push(result);
        }
    }
    read.problem = broken.map(|b| Problem {
        kind: ProblemKind::Unparseable,
        document_kind: Some("junit-xml".into()),
        location: Location::new(&file.shown, line_of(b.offset), 1),
        message: format!("test report: {}", b.message),
    });
    read.report = Some(TestReport {
        location: Location::file(&file.shown),
        counts,
    });
    read
}

/// Most tests one run keeps results of (for history).
const MAX_RESULTS: usize = 200_000;

/// One test seen again in the same run (two matrix jobs' reports): a
/// failure anywhere is the run's result, a pass beats a skip.
fn merge_result(results: &mut Results, id: String, seen: (Result, bool, Location)) {
    let rank = |r: Result| match r {
        Result::Skipped => 0,
        Result::Passed => 1,
        Result::Failed => 2,
        Result::Errored => 3,
    };
    if let Some(old) = results.get_mut(&id) {
        old.1 |= seen.1;
        if rank(seen.0) > rank(old.0) {
            old.0 = seen.0;
            old.2 = seen.2;
        }
    } else if results.len() < MAX_RESULTS {
        results.insert(id, seen);
    }
}

fn add(total: &mut TestCounts, c: &TestCounts) {
    total.tests += c.tests;
    total.passed += c.passed;
    total.failed += c.failed;
    total.errored += c.errored;
    total.skipped += c.skipped;
    total.flaky += c.flaky;
    total.seconds += c.seconds;
}

/// Tests' source files, repository-relative, when their reports name
/// files that are in the repository (a path on the runner that built them,
/// or `C:\\...`, is not: the report's line is shown instead).
struct Sources<'a> {
    root: &'a Path,
    /// Whether each named file is there, asked once per file.
    present: HashMap<String, bool>,
}

impl<'a> Sources<'a> {
    fn new(root: &'a Path) -> Self {
        Self {
            root,
            present: HashMap::new(),
        }
    }

    fn of(&mut self, c: &Case) -> Option<Location> {
        let file = c.file.as_deref()?;
        let path = Path::new(file);
        let rel = if path.is_absolute() {
            // Runners write absolute paths of the checkout they ran in.
            path.strip_prefix(self.root).ok()?.to_str()?.to_string()
        } else {
            file.trim_start_matches("./").to_string()
        };
        if rel.split('/').any(|s| s == "..") || rel.is_empty() {
            return None;
        }
        if self.present.len() >= MAX_SOURCES && !self.present.contains_key(&rel) {
            return None;
        }
        let root = self.root;
        let present = *self
            .present
            .entry(rel.clone())
            .or_insert_with(|| root.join(&rel).is_file());
        present.then(|| Location::new(rel, c.line.unwrap_or(1).max(1), 1))
    }
}

/// Distinct source files one report's tests may name and be looked up.
const MAX_SOURCES: usize = 50_000;
