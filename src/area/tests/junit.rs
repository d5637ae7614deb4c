//! JUnit XML, streamed: Maven Surefire/Failsafe (`flakyFailure`,
//! `flakyError`, `rerunFailure`, `rerunError`), Gradle (a `<testcase>` per
//! retry, or `flakyFailure` with `mergeReruns`), cargo-nextest
//! (`flakyFailure` with the message as text; with `flaky-result = "fail"`
//! both `failure` and `flakyFailure`), pytest, jest-junit, go-junit-report;
//! a `<testsuites>` or a bare `<testsuite>` root. Memory is bounded by the
//! largest suite, not the file: cases are merged per suite (duplicates of
//! one id are retries) and handed on one by one. No DTD is processed and no
//! entity beyond XML's five is expanded.

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// A test's result in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Result {
    Passed,
    Skipped,
    Failed,
    Errored,
}

/// One test of one run, its retries merged.
#[derive(Debug, Clone)]
pub struct Case {
    /// `classname::name` (the suite's name when there is no classname).
    pub id: String,
    pub result: Result,
    /// It failed and passed in this run: a retry or rerun passed
    /// (`flakyFailure`, or a failed and a passed `<testcase>` of one id).
    pub flaky: bool,
    /// How many times it ran in this run.
    pub attempts: u32,
    /// Seconds, every attempt together.
    pub time: f64,
    /// A `time` was implausible (see [`MAX_SECONDS`]) and not counted.
    pub odd_time: bool,
    /// The test's source, when the report says (`file`, `line`).
    pub file: Option<String>,
    pub line: Option<u32>,
    /// Where its `<testcase>` starts in the report (byte offset).
    pub offset: u64,
    /// The first failure's message (or text), shortened.
    pub message: Option<String>,
}

/// One suite's totals as the report gives them.
#[derive(Debug, Clone, Default)]
pub struct Suite {
    pub name: String,
    pub time: f64,
    /// Its `time` was implausible (see [`MAX_SECONDS`]) and not counted.
    pub odd_time: bool,
    /// Inside another suite: its time is already in its parent's.
    pub nested: bool,
    /// Where its `<testsuite>` starts in the report (byte offset).
    pub offset: u64,
}

/// Why a report could not be read (past what was read).
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    pub offset: u64,
    pub message: String,
}

/// Most cases of one suite merged in memory; past this, cases are handed on
/// unmerged (a retry then counts as another test).
const MAX_SUITE_CASES: usize = 100_000;
/// Longest failure message kept.
const MAX_MESSAGE: usize = 300;
/// Longest test id kept (a longer one is cut; ids are copied per case).
const MAX_ID: usize = 512;
/// Most id bytes held for merging across the open suites.
const MAX_MERGE_BYTES: usize = 64 << 20;
/// Deepest element nesting read.
const MAX_DEPTH: usize = 256;
/// Largest single XML event (a tag, a text, a CDATA section): quick-xml
/// holds one whole event in memory.
const MAX_EVENT: u64 = 64 << 20;
/// The longest time a case or suite can plausibly have run: past it, the
/// runner wrote another unit (nanoseconds, milliseconds) and the time is
/// not counted.
pub const MAX_SECONDS: f64 = 7.0 * 86_400.0;

/// A case being read: its attempts so far.
#[derive(Default)]
struct Reading {
    classname: String,
    name: String,
    file: Option<String>,
    line: Option<u32>,
    time: f64,
    odd_time: bool,
    offset: u64,
    result: Option<Result>,
    /// `flakyFailure` / `flakyError`: failed, then passed on a rerun.
    flaky: bool,
    message: Option<String>,
    /// Inside an element whose text is the message (nextest).
    text_wanted: bool,
    /// Reruns recorded inside the case (`flakyFailure`, `rerunFailure`...).
    reruns: u32,
    /// A one-word `message` (go-junit-report's "Failed"), used when the
    /// element has no text to say more.
    fallback: Option<String>,
    /// A `<failure>`/`<error>` directly in a suite: the case ends with it.
    of_suite: bool,
}

/// Reads one report, handing every suite and case to `on_case` / `on_suite`.
/// Returns what broke the read, if anything; what was read before counts.
pub fn read<R: BufRead>(
    mut input: R,
    on_case: &mut dyn FnMut(Case),
    on_suite: &mut dyn FnMut(Suite),
) -> std::result::Result<(), Broken> {
    let mark = std::rc::Rc::new(std::cell::Cell::new(0u64));
    // quick-xml drops a UTF-8 byte-order mark from its positions; drop it
    // here and add it back, so offsets are the file's.
    let bom = input
        .fill_buf()
        .is_ok_and(|b| b.starts_with("\u{feff}".as_bytes()));
    let shift = if bom {
        input.consume(3);
        3
    } else {
        0
    };
    let mut reader = Reader::from_reader(Capped {
        inner: input,
        consumed: 0,
        mark: mark.clone(),
    });
    let mut buf = Vec::new();
    let held: Held = Default::default();
    let mut depth = 0usize;
    let mut root_seen = false;
    // The suites we are in (nested suites are real: jest, some Surefire).
    let mut suites: Vec<(Suite, Merger)> = Vec::new();
    let mut case: Option<Reading> = None;
    let mut declared_encoding: Option<String> = None;
    loop {
        let offset = reader.buffer_position() + shift;
        mark.set(offset);
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(e) => {
                // What was read before the break counts.
                flush(&mut suites, &mut case, on_case, on_suite);
                let message = match &e {
                    quick_xml::Error::Io(io) if io.kind() == std::io::ErrorKind::FileTooLarge => {
                        format!(
                            "one XML element or text is over {} MiB; the rest is not read",
                            MAX_EVENT >> 20
                        )
                    }
                    _ if declared_encoding.is_some() => format!(
                        "declares encoding {}; only UTF-8 reports are read",
                        declared_encoding.as_deref().unwrap_or_default()
                    ),
                    _ => format!("not well-formed XML: {e}"),
                };
                return Err(Broken {
                    offset: (reader.error_position() + shift).max(offset),
                    message,
                });
            }
        };
        match event {
            Event::Decl(d) => {
                // A report in another encoding is read as UTF-8 and breaks
                // on its first non-ASCII byte: say why.
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = enc.to_string();
                    if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
                        declared_encoding = Some(clean(&enc));
                    }
                }
            }
            Event::DocType(d) => {
                let text: &str = &d;
                if text.contains("ENTITY") {
                    return Err(Broken {
                        offset,
                        message: "declares entities in a DOCTYPE; they are not expanded, so the report is not read".into(),
                    });
                }
            }
            Event::Start(e) => {
                if !root_seen {
                    root(&e, offset)?;
                    root_seen = true;
                }
                depth += 1;
                if depth > MAX_DEPTH {
                    flush(&mut suites, &mut case, on_case, on_suite);
                    return Err(Broken {
                        offset,
                        message: format!(
                            "nests elements deeper than {MAX_DEPTH}; the rest is not read"
                        ),
                    });
                }
                start(&e, offset, &mut suites, &mut case, &held);
            }
            Event::Empty(e) => {
                if !root_seen {
                    root(&e, offset)?;
                    root_seen = true;
                }
                start(&e, offset, &mut suites, &mut case, &held);
                end(
                    e.local_name().as_ref(),
                    &mut suites,
                    &mut case,
                    on_case,
                    on_suite,
                );
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                end(
                    e.local_name().as_ref(),
                    &mut suites,
                    &mut case,
                    on_case,
                    on_suite,
                );
            }
            Event::Text(t) => {
                if let Some(c) = case.as_mut().filter(|c| c.text_wanted) {
                    append(&mut c.message, &t);
                }
            }
            Event::CData(t) => {
                if let Some(c) = case.as_mut().filter(|c| c.text_wanted) {
                    append(&mut c.message, &t);
                }
            }
            // `&lt;` in a failure's text: XML's five and character
            // references, nothing else.
            Event::GeneralRef(r) => {
                if let Some(c) = case.as_mut().filter(|c| c.text_wanted) {
                    let name: &str = &r;
                    let resolved = quick_xml::escape::resolve_predefined_entity(name)
                        .map(str::to_string)
                        .or_else(|| {
                            let code = name.strip_prefix('#')?;
                            let n = match code.strip_prefix('x') {
                                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                                None => code.parse().ok()?,
                            };
                            char::from_u32(n).map(String::from)
                        });
                    if let Some(text) = resolved {
                        append(&mut c.message, &text);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !root_seen {
        return Err(Broken {
            offset: 0,
            message: "no XML element: an empty or truncated report".into(),
        });
    }
    if depth > 0 {
        // What was read counts; say where it stopped.
        flush(&mut suites, &mut case, on_case, on_suite);
        return Err(Broken {
            offset: reader.buffer_position() + shift,
            message: "ends inside an element: the report is truncated".into(),
        });
    }
    Ok(())
}

/// The input, refusing to go more than [`MAX_EVENT`] bytes past the start
/// of the event being read.
struct Capped<R> {
    inner: R,
    consumed: u64,
    mark: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: std::io::Read> std::io::Read for Capped<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Capped<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.consumed.saturating_sub(self.mark.get()) > MAX_EVENT {
            return Err(std::io::ErrorKind::FileTooLarge.into());
        }
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.consumed += n as u64;
        self.inner.consume(n);
    }
}

/// A name or id as one line: control characters (a newline could forge a
/// line of the terminal report) become spaces, and it is cut at
/// [`MAX_ID`].
pub(super) fn clean(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.len() > MAX_ID {
        let mut cut = MAX_ID;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// The suites still open when a report breaks off, innermost first.
/// The read broke: what was read counts. A case cut off after its
/// `<failure>` (or `<skipped>`) closed has a result and counts with it; one
/// cut off before it is unknown and does not.
fn flush(
    suites: &mut Vec<(Suite, Merger)>,
    case: &mut Option<Reading>,
    on_case: &mut dyn FnMut(Case),
    on_suite: &mut dyn FnMut(Suite),
) {
    if let Some(c) = case.take().filter(|c| c.result.is_some()) {
        finish_case(c, suites, on_case);
    }
    for (suite, merger) in suites.drain(..).rev() {
        merger.finish(on_case);
        on_suite(suite);
    }
}

/// A report's root is `<testsuites>` or a bare `<testsuite>`.
fn root(e: &BytesStart, offset: u64) -> std::result::Result<(), Broken> {
    let name = e.local_name();
    if name.as_ref() == "testsuites" || name.as_ref() == "testsuite" {
        return Ok(());
    }
    let name: &str = name.as_ref();
    let what = other_format(name).map_or_else(String::new, |w| format!(": {w}"));
    Err(Broken {
        offset,
        message: format!(
            "the root element is <{}>, not <testsuites> or <testsuite>{what}",
            clean(name)
        ),
    })
}

/// The longest `file` attribute taken for a path.
const MAX_FILE_ATTR: usize = 4096;

/// A `file` attribute that can be a path: not empty, not past
/// [`MAX_FILE_ATTR`] (a megabyte of it is no path, and would be held).
fn source_file(file: Option<String>) -> Option<String> {
    file.filter(|f| !f.is_empty() && f.len() <= MAX_FILE_ATTR)
}

/// Files written next to reports that are never test reports: what to say
/// about them.
pub fn sidecar(root: &str) -> Option<&'static str> {
    Some(match root {
        "failsafe-summary" => "Failsafe's run summary, written next to its reports",
        "testng-results" => {
            "TestNG's own results file; Surefire's TEST-*.xml beside it are the reports"
        }
        _ => return None,
    })
}

/// What a well-known XML root element that is not JUnit belongs to, and
/// what to do about it.
pub fn other_format(root: &str) -> Option<&'static str> {
    Some(match root {
        "test-run" => {
            "an NUnit 3 report; write JUnit XML (dotnet test --logger junit, or nunit's junit transform) or narrow the glob"
        }
        "assemblies" => {
            "an xUnit.net report; write JUnit XML (dotnet test --logger junit) or narrow the glob"
        }
        "TestRun" => {
            "a Visual Studio TRX report; write JUnit XML (dotnet test --logger junit) or narrow the glob"
        }
        "project" => "a Maven POM, not a test report; narrow the glob",
        "coverage" | "report" => "a coverage report, not a test report; narrow the glob",
        "checkstyle" | "pmd" | "BugCollection" => {
            "a lint report, not a test report; narrow the glob"
        }
        _ => return None,
    })
}

/// An attribute's value, XML's five entities and character references
/// resolved; nothing else is expanded (an unknown `&name;` stays as is).
fn attr(e: &BytesStart, key: &str) -> Option<String> {
    let [value] = attrs(e, [key]);
    value
}

/// The values of `keys`, in one pass over the attributes (the first of a
/// repeated one).
fn attrs<const N: usize>(e: &BytesStart, keys: [&str; N]) -> [Option<String>; N] {
    let mut out = [const { None }; N];
    for a in e.attributes().with_checks(false).flatten() {
        let name = a.key.local_name();
        if let Some(i) = keys.iter().position(|k| name.as_ref() == *k)
            && out[i].is_none()
        {
            out[i] = Some(
                quick_xml::escape::unescape(&a.value)
                    .map(|c| c.into_owned())
                    .unwrap_or_else(|_| a.value.to_string()),
            );
        }
    }
    out
}

/// A `time` attribute in seconds, and whether it was implausible (negative,
/// or over [`MAX_SECONDS`]) and so not counted.
fn seconds(time: Option<&str>) -> (f64, bool) {
    let Some(t) = time else {
        return (0.0, false);
    };
    // `1,234.5` (a thousands separator) or `1,5` (a decimal comma).
    let t = match (t.contains(','), t.contains('.')) {
        (true, true) => std::borrow::Cow::Owned(t.replace(',', "")),
        (true, false) => std::borrow::Cow::Owned(t.replace(',', ".")),
        _ => std::borrow::Cow::Borrowed(t),
    };
    match t.trim().parse::<f64>() {
        Ok(t) if (0.0..=MAX_SECONDS).contains(&t) => (t, false),
        Ok(t) if !t.is_nan() => (0.0, true),
        _ => (0.0, false),
    }
}

fn append(message: &mut Option<String>, text: &str) {
    let m = message.get_or_insert_with(String::new);
    if m.len() >= MAX_MESSAGE {
        return;
    }
    for c in text.chars() {
        if m.len() >= MAX_MESSAGE {
            m.push('…');
            break;
        }
        m.push(if c.is_control() { ' ' } else { c });
    }
}

fn start(
    e: &BytesStart,
    offset: u64,
    suites: &mut Vec<(Suite, Merger)>,
    case: &mut Option<Reading>,
    held: &Held,
) {
    match e.local_name().as_ref() {
        "testsuite" => {
            let [name, time] = attrs(e, ["name", "time"]);
            let nested = !suites.is_empty();
            let (time, odd_time) = seconds(time.as_deref());
            suites.push((
                Suite {
                    name: clean(&name.unwrap_or_default()),
                    nested,
                    time,
                    odd_time,
                    offset,
                },
                Merger::new(held.clone()),
            ))
        }
        "testcase" => {
            let [classname, name, file, line, time] =
                attrs(e, ["classname", "name", "file", "line", "time"]);
            let (time, odd_time) = seconds(time.as_deref());
            // gtest's `status="notrun"`/`result="suppressed"` (DISABLED_
            // tests), tst's `status="disabled"`: not run, so skipped.
            let [status, outcome] = attrs(e, ["status", "result"]);
            let not_run = matches!(
                status.as_deref(),
                Some("notrun" | "disabled" | "ignored" | "skipped")
            ) || matches!(outcome.as_deref(), Some("suppressed" | "skipped"));
            *case = Some(Reading {
                classname: classname.unwrap_or_default(),
                name: name.unwrap_or_default(),
                file: source_file(file),
                result: not_run.then_some(Result::Skipped),
                line: line.and_then(|l| l.trim().parse().ok()),
                time,
                odd_time,
                offset,
                ..Reading::default()
            })
        }
        tag => {
            if case.is_none() && !suites.is_empty() && matches!(tag, "failure" | "error") {
                // Outside any testcase: the suite itself failed (a class
                // that did not load, a setup that threw). It counts as one
                // test of that suite, so the failure is not lost.
                *case = Some(Reading {
                    name: "(suite)".into(),
                    offset,
                    of_suite: true,
                    ..Reading::default()
                });
            }
            let Some(c) = case.as_mut() else {
                return;
            };
            let result = match tag {
                "failure" => Some(Result::Failed),
                "error" => Some(Result::Errored),
                "skipped" => Some(Result::Skipped),
                "flakyFailure" | "flakyError" => {
                    c.flaky = true;
                    None
                }
                _ => None,
            };
            let about_a_failure = matches!(
                tag,
                "failure" | "error" | "flakyFailure" | "flakyError" | "rerunFailure" | "rerunError"
            );
            if let Some(r) = result {
                c.result = Some(c.result.map_or(r, |old| old.max(r)));
                // Some runners put the failing line on the failure itself.
                if c.file.is_none() {
                    let [file, line] = attrs(e, ["file", "line"]);
                    c.file = source_file(file);
                    c.line = c.line.or(line.and_then(|l| l.trim().parse().ok()));
                }
            }
            if tag.starts_with("flaky") || tag.starts_with("rerun") {
                c.reruns += 1;
            }
            if about_a_failure && c.message.is_none() {
                // A one-word message (go-junit-report's "Failed") says less
                // than the element's text.
                match attr(e, "message").filter(|m| !m.trim().is_empty()) {
                    Some(m) if m.trim().contains(' ') => append(&mut c.message, &m),
                    word => {
                        c.fallback = c.fallback.take().or(word);
                        c.text_wanted = true;
                    }
                }
            }
        }
    }
}

fn end(
    tag: &str,
    suites: &mut Vec<(Suite, Merger)>,
    case: &mut Option<Reading>,
    on_case: &mut dyn FnMut(Case),
    on_suite: &mut dyn FnMut(Suite),
) {
    match tag {
        "testcase" => {
            if let Some(c) = case.take() {
                finish_case(c, suites, on_case);
            }
        }
        "testsuite" => {
            if let Some((suite, merger)) = suites.pop() {
                merger.finish(on_case);
                on_suite(suite);
            }
        }
        "failure" | "error" | "flakyFailure" | "flakyError" | "rerunFailure" | "rerunError" => {
            if let Some(c) = case.as_mut() {
                c.text_wanted = false;
            }
            if case.as_ref().is_some_and(|c| c.of_suite) {
                finish_case(case.take().unwrap_or_default(), suites, on_case);
            }
        }
        _ => {}
    }
}

/// A case read whole: its id, merged with earlier attempts of that id.
fn finish_case(c: Reading, suites: &mut [(Suite, Merger)], on_case: &mut dyn FnMut(Case)) {
    let suite = suites
        .last()
        .map(|(s, _)| s.name.clone())
        .unwrap_or_default();
    let owner = if c.classname.is_empty() {
        &suite
    } else {
        &c.classname
    };
    let id = clean(&match (owner.is_empty(), c.name.is_empty()) {
        (false, false) => format!("{owner}::{}", c.name),
        (false, true) => owner.clone(),
        (true, false) => c.name.clone(),
        (true, true) => "(unnamed test)".into(),
    });
    // pytest writes `line` 0-based.
    let line = c.line.map(|l| if suite == "pytest" { l + 1 } else { l });
    let done = Case {
        id,
        result: c.result.unwrap_or(Result::Passed),
        flaky: c.flaky,
        attempts: 1 + c.reruns,
        time: c.time,
        odd_time: c.odd_time,
        file: c.file,
        line,
        offset: c.offset,
        message: c
            .message
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .or(c.fallback.map(|m| clean(m.trim()))),
    };
    match suites.last_mut() {
        Some((_, merger)) => merger.add(done, on_case),
        None => on_case(done),
    }
}

/// One suite's cases, merged by id: a second `<testcase>` of an id is a
/// retry (Gradle without `mergeReruns`, pytest's teardown error).
/// Bytes the open suites' mergers hold together.
type Held = std::rc::Rc<std::cell::Cell<usize>>;

/// The attempts of one id merged so far.
struct Seen {
    /// One of them passed: any later one is another invocation.
    passed: bool,
    worst: Result,
    /// One of them carried its own flaky marker (`flakyFailure`).
    marked: bool,
}

struct Merger {
    /// By the id's hash; a collision is checked against the id itself.
    index: HashMap<u64, usize>,
    cases: Vec<Case>,
    /// What each of `cases` went through so far, by index.
    seen: Vec<Seen>,
    /// Past [`MAX_SUITE_CASES`]: handed on unmerged.
    overflowed: bool,
    hasher: std::hash::RandomState,
    /// What `cases` holds, also counted in `held`.
    bytes: usize,
    held: Held,
}

impl Merger {
    fn new(held: Held) -> Self {
        Self {
            index: HashMap::new(),
            cases: Vec::new(),
            seen: Vec::new(),
            overflowed: false,
            hasher: Default::default(),
            bytes: 0,
            held,
        }
    }

    fn add(&mut self, case: Case, on_case: &mut dyn FnMut(Case)) {
        if self.overflowed {
            return on_case(case);
        }
        let hash = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = self.hasher.build_hasher();
            h.write(case.id.as_bytes());
            h.finish()
        };
        let slot = self.index.get(&hash).copied();
        if let Some(i) = slot.filter(|i| self.cases[*i].id == case.id) {
            let first = &mut self.cases[i];
            let seen = &mut self.seen[i];
            let passed = |r: Result| r == Result::Passed;
            let failed = |r: Result| matches!(r, Result::Failed | Result::Errored);
            first.attempts += 1;
            first.time += case.time;
            first.odd_time |= case.odd_time;
            if first.message.is_none() || (failed(case.result) && !failed(seen.worst)) {
                first.message = case.message;
            }
            seen.marked |= case.flaky;
            if seen.passed {
                // A retry never follows a pass: these are invocations of
                // one parameterised test (a TestNG data provider, an
                // it.each without the value in its name) or a pytest
                // teardown error after a pass; the worst counts, and an
                // earlier fail-then-pass was not a flake.
                seen.worst = seen.worst.max(case.result);
                first.result = seen.worst;
                first.flaky = seen.marked;
            } else {
                // Failures so far, then this: a retry. It passing makes
                // the test flaky; otherwise the worst attempt stands (a
                // failure and a teardown error).
                seen.worst = seen.worst.max(case.result);
                let flip = failed(first.result) && passed(case.result);
                first.flaky = seen.marked || flip;
                first.result = if passed(case.result) {
                    case.result
                } else {
                    seen.worst
                };
            }
            seen.passed |= passed(case.result);
            return;
        }
        let size = case.id.len()
            + case.message.as_ref().map_or(0, String::len)
            + case.file.as_ref().map_or(0, String::len)
            + 128;
        if self.cases.len() >= MAX_SUITE_CASES || self.held.get() + size > MAX_MERGE_BYTES {
            self.overflowed = true;
            self.release();
            self.cases.drain(..).for_each(&mut *on_case);
            self.seen = Vec::new();
            self.index = HashMap::new();
            return on_case(case);
        }
        if slot.is_none() {
            self.index.insert(hash, self.cases.len());
        }
        self.bytes += size;
        self.held.set(self.held.get() + size);
        self.seen.push(Seen {
            passed: case.result == Result::Passed,
            worst: case.result,
            marked: case.flaky,
        });
        self.cases.push(case);
    }

    fn release(&mut self) {
        self.held.set(self.held.get().saturating_sub(self.bytes));
        self.bytes = 0;
    }

    fn finish(mut self, on_case: &mut dyn FnMut(Case)) {
        self.release();
        std::mem::take(&mut self.cases)
            .into_iter()
            .for_each(on_case);
    }
}

/// 1-based line numbers of byte `offsets` (sorted ascending) in `input`,
/// counted in one streaming pass.
pub fn lines_at<R: std::io::Read>(mut input: R, offsets: &[u64]) -> Vec<u32> {
    let newlines = |bytes: &[u8]| bytes.iter().filter(|b| **b == b'\n').count() as u32;
    let mut out = Vec::with_capacity(offsets.len());
    let mut line = 1u32;
    // The file offset of `buf[0]`.
    let mut start = 0u64;
    let mut next = offsets.iter().peekable();
    let mut buf = vec![0u8; 256 * 1024];
    while next.peek().is_some() {
        let n = match input.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut counted = 0usize;
        while let Some(&&offset) = next.peek() {
            let Some(at) = offset
                .checked_sub(start)
                .map(|o| o as usize)
                .filter(|o| *o < n)
            else {
                break;
            };
            line += newlines(&buf[counted..at.max(counted)]);
            counted = at.max(counted);
            out.push(line);
            next.next();
        }
        line += newlines(&buf[counted..n]);
        start += n as u64;
    }
    out.extend(next.map(|_| line));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases(xml: &str) -> (Vec<Case>, Vec<Suite>, Option<Broken>) {
        let (mut cases, mut suites) = (Vec::new(), Vec::new());
        let r = read(xml.as_bytes(), &mut |c| cases.push(c), &mut |s| {
            suites.push(s)
        });
        (cases, suites, r.err())
    }

    #[test]
    fn surefire_reruns_and_flakes() {
        let (c, s, err) = cases(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.acme.CartTest" time="1.5" tests="3" errors="0" skipped="0" failures="1">
  <testcase name="adds" classname="com.acme.CartTest" time="0.2">
    <flakyFailure message="expected: &lt;2&gt; but was: &lt;1&gt;" type="org.opentest4j.AssertionFailedError">
      <stackTrace>at com.acme.CartTest.adds(CartTest.java:21)</stackTrace>
    </flakyFailure>
  </testcase>
  <testcase name="removes" classname="com.acme.CartTest" time="0.3">
    <failure message="boom" type="java.lang.AssertionError"/>
    <rerunFailure message="boom again" type="java.lang.AssertionError"/>
  </testcase>
  <testcase name="lists" classname="com.acme.CartTest" time="0.1"/>
</testsuite>"#,
        );
        assert_eq!(err, None);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].time, 1.5);
        let adds = &c[0];
        assert_eq!(adds.id, "com.acme.CartTest::adds");
        assert_eq!((adds.result, adds.flaky), (Result::Passed, true));
        assert_eq!(adds.message.as_deref(), Some("expected: <2> but was: <1>"));
        assert_eq!((c[1].result, c[1].flaky), (Result::Failed, false));
        assert_eq!(c[2].result, Result::Passed);
    }

    #[test]
    fn duplicate_testcases_are_retries() {
        // Gradle without mergeReruns; pytest's failure plus teardown error.
        let (c, _, _) = cases(
            r#"<testsuites><testsuite name="s">
<testcase classname="a.B" name="t" time="1"><failure message="x"/></testcase>
<testcase classname="a.B" name="t" time="2"/>
<testcase classname="p" name="u"><failure message="f"/></testcase>
<testcase classname="p" name="u"><error message="teardown"/></testcase>
</testsuite></testsuites>"#,
        );
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[0].result, c[0].flaky, c[0].attempts, c[0].time),
            (Result::Passed, true, 2, 3.0)
        );
        assert_eq!((c[1].result, c[1].flaky), (Result::Errored, false));
    }

    #[test]
    fn duplicates_after_a_pass_are_invocations_not_retries() {
        // A TestNG data provider: three invocations of one method; a
        // pytest test that passed and then failed in teardown.
        let (c, _, _) = cases(
            r#"<testsuite name="s" tests="4">
<testcase classname="a.Prices" name="rounds" time="1"/>
<testcase classname="a.Prices" name="rounds" time="1"><failure message="expected 3 but was 2"/></testcase>
<testcase classname="a.Prices" name="rounds" time="1"/>
<testcase classname="t.test_db" name="test_write"/>
<testcase classname="t.test_db" name="test_write"><error message="teardown failed"/></testcase>
<testcase classname="a.B" name="x"><failure message="first"/></testcase>
<testcase classname="a.B" name="x"/>
<testcase classname="a.B" name="x"><failure message="third"/></testcase>
</testsuite>"#,
        );
        assert_eq!(
            (c[0].result, c[0].flaky, c[0].attempts),
            (Result::Failed, false, 3)
        );
        assert_eq!(c[0].message.as_deref(), Some("expected 3 but was 2"));
        assert_eq!((c[1].result, c[1].flaky), (Result::Errored, false));
        assert_eq!(c[1].message.as_deref(), Some("teardown failed"));
        // fail, pass, fail: not a retry that passed after all.
        assert_eq!((c[2].result, c[2].flaky), (Result::Failed, false));
    }

    #[test]
    fn a_suite_that_failed_outside_its_tests_counts_and_names_are_never_empty() {
        let (c, _, _) = cases(
            r#"<testsuites><testsuite name="com.acme.PaymentsIT" tests="0" errors="1">
<error message="Could not initialize class com.acme.Db" type="java.lang.NoClassDefFoundError">trace</error>
</testsuite><testsuite name=""><testcase name="" classname=""/><testcase name="only"/></testsuite></testsuites>"#,
        );
        assert_eq!(c[0].id, "com.acme.PaymentsIT::(suite)");
        assert_eq!(c[0].result, Result::Errored);
        assert_eq!(
            c[0].message.as_deref(),
            Some("Could not initialize class com.acme.Db")
        );
        assert_eq!(c[1].id, "(unnamed test)");
        assert_eq!(c[2].id, "only");
    }

    #[test]
    fn disabled_tests_are_skipped_and_file_attributes_bounded() {
        let long = "a".repeat(MAX_FILE_ATTR + 1);
        let (c, _, _) = cases(&format!(
            r#"<testsuites><testsuite name="Calc" tests="3">
<testcase name="DISABLED_div" status="notrun" result="suppressed" time="0" classname="Calc"/>
<testcase name="add" status="run" result="completed" time="0.1" classname="Calc" file="{long}"/>
<testcase name="old" status="disabled" classname="Calc"/>
</testsuite></testsuites>"#
        ));
        let results: Vec<Result> = c.iter().map(|c| c.result).collect();
        assert_eq!(results, [Result::Skipped, Result::Passed, Result::Skipped]);
        assert_eq!(c[1].file, None);
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<testsuite name=\"caf\xe9\"><testcase name=\"\xe9\"/></testsuite>";
        let broken = read(&latin1[..], &mut |_| {}, &mut |_| {}).unwrap_err();
        assert_eq!(
            broken.message,
            "declares encoding ISO-8859-1; only UTF-8 reports are read"
        );
    }

    #[test]
    fn nextest_flaky_text_and_flaky_result_fail() {
        let (c, _, _) = cases(
            r#"<testsuites name="nextest-run"><testsuite name="app" tests="2">
<testcase name="net::retries" classname="app" timestamp="2026-11-01T10:00:00Z" time="0.5">
<flakyFailure timestamp="2026-11-01T10:00:00Z" time="0.2" type="test failure">thread panicked at src/net.rs:10: 1 &lt; 2</flakyFailure>
</testcase>
<testcase name="net::marked" classname="app" time="0.5">
<failure type="test failure"/><flakyFailure type="test failure">first try failed</flakyFailure>
</testcase>
</testsuite></testsuites>"#,
        );
        assert_eq!(
            c[0].message.as_deref(),
            Some("thread panicked at src/net.rs:10: 1 < 2")
        );
        assert_eq!((c[0].result, c[0].flaky), (Result::Passed, true));
        assert_eq!((c[1].result, c[1].flaky), (Result::Failed, true));
    }

    #[test]
    fn bad_reports_say_why() {
        let err = |xml: &str| cases(xml).2.map(|b| b.message).unwrap_or_default();
        assert!(err("<html><body/></html>").contains("root element is <html>"));
        assert!(err("<test-run id=\"2\"/>").contains("NUnit 3 report"));
        assert!(err("").contains("empty or truncated"));
        assert!(err("<testsuite><testcase name=\"a\">").contains("truncated"));
        // Cut off after a whole failure: the failure counts.
        let (c, _, broken) = cases(
            "<testsuite name=\"s\"><testcase classname=\"a\" name=\"b\"><failure message=\"boom now\"/><system-out>partial",
        );
        assert!(broken.is_some());
        assert_eq!((c.len(), c[0].result), (1, Result::Failed));
        assert!(
            err("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><testsuite/>")
                .contains("entities")
        );
        assert!(err("<testsuite><testcase></testsuite>").contains("not well-formed"));
        // Read up to the break: a truncated report's complete cases count.
        let (c, _, e) = cases("<testsuite name=\"s\"><testcase name=\"a\"/><testcase name=\"b\">");
        assert!(e.is_some());
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn hostile_names_times_and_nesting_are_bounded() {
        // A newline in a name could forge a line of the terminal report.
        let (c, s, _) = cases(
            "<testsuites><testsuite name=\"outer\" time=\"1000\"><testsuite name=\"inner\" time=\"1000\"><testcase classname=\"c\" name=\"a&#10;verdict: READY\" time=\"1,5\"/></testsuite></testsuite></testsuites>",
        );
        assert_eq!(c[0].id, "c::a verdict: READY");
        assert_eq!(c[0].time, 1.5);
        assert_eq!(
            s.iter()
                .map(|s| (s.name.as_str(), s.nested))
                .collect::<Vec<_>>(),
            [("inner", true), ("outer", false)]
        );
        let long = format!(
            "<testsuite name=\"{}\"><testcase name=\"t\"/></testsuite>",
            "S".repeat(20_000)
        );
        let (c, _, _) = cases(&long);
        assert!(c[0].id.len() <= MAX_ID + '…'.len_utf8());
        // Nanoseconds (go's time.Duration), not a year-long test.
        assert_eq!(seconds(Some("1500000000")), (0.0, true));
        assert_eq!(seconds(Some("1e308")), (0.0, true));
        assert_eq!(seconds(Some("-3")), (0.0, true));
        assert_eq!(seconds(Some("1,234.5")), (1234.5, false));
        assert_eq!(seconds(Some("n/a")), (0.0, false));
        let deep = format!("<testsuites>{}", "<testsuite>".repeat(MAX_DEPTH + 10));
        assert!(
            cases(&deep)
                .2
                .unwrap()
                .message
                .contains("nests elements deeper")
        );
    }

    #[test]
    fn one_event_past_the_cap_is_refused() {
        let big = format!(
            "<testsuite name=\"s\"><testcase name=\"a\"/><system-out>{}</system-out></testsuite>",
            "x".repeat(MAX_EVENT as usize + 256 * 1024)
        );
        // Read as a file is: in 64 KiB buffers.
        let mut c = Vec::new();
        let input = std::io::BufReader::with_capacity(64 * 1024, big.as_bytes());
        let err = read(input, &mut |case| c.push(case), &mut |_| {}).unwrap_err();
        assert_eq!(c.len(), 1);
        assert!(err.message.contains("over 64 MiB"), "{}", err.message);
    }

    #[test]
    fn lines_are_counted_once_for_all_offsets() {
        let text = "a\nb\nc\n";
        assert_eq!(
            lines_at(text.as_bytes(), &[0, 2, 4, 5, 99]),
            [1, 2, 3, 3, 4]
        );
        // A UTF-8 byte-order mark: offsets still point into the file.
        let xml = "\u{feff}<testsuite name=\"s\">\n<testcase name=\"a\"/>\n</testsuite>";
        let (c, _, _) = cases(xml);
        assert_eq!(&xml[c[0].offset as usize..][..9], "<testcase");
        assert_eq!(lines_at(xml.as_bytes(), &[c[0].offset]), [2]);
    }
}
