//! The tests area on repositories shaped like real ones: JUnit XML as
//! Maven Surefire/Failsafe, Gradle, cargo-nextest, pytest, jest-junit and
//! go-junit-report write it, found where they write it or named by globs;
//! a history folder of past runs with flaky tests; broken reports.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

const JVM: &str = "tests/fixtures/tests/jvm-shop";
const POLYGLOT: &str = "tests/fixtures/tests/polyglot";

/// (id, path, line) of a list of test results.
fn located(list: &Value) -> Vec<(String, String, u64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["location"]["path"].as_str().unwrap().to_string(),
                t["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn owned(v: &[(&str, &str, u64)]) -> Vec<(String, String, u64)> {
    v.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
        .collect()
}

/// The JVM fixture as CI checks it out and leaves it after the test step:
/// sources committed, build output gitignored and untracked.
fn jvm_checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_dir(Path::new(JVM), root);
    write(root, ".gitignore", "target/\nbuild/\n");
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);
    dir
}

/// Surefire's flakyFailure and rerunFailure, Failsafe's flakyError, Gradle's
/// duplicate testcases; found where Maven and Gradle write them, a JUnit
/// fixture committed among test resources set aside, with why.
#[test]
fn jvm_reports_found_where_maven_and_gradle_write_them() {
    let checkout = jvm_checkout();
    let root = checkout.path().to_str().unwrap();
    let ev = evidence(root, &[]);
    let t = &ev["tests"];
    assert_eq!(t["source"], "discovered");
    let reports: Vec<&str> = t["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["location"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        reports,
        [
            "payments/build/test-results/test/TEST-com.acme.payments.RefundTest.xml",
            "target/failsafe-reports/TEST-com.acme.it.CheckoutIT.xml",
            "target/surefire-reports/TEST-com.acme.cart.CartServiceTest.xml",
        ]
    );
    let totals = &t["totals"];
    assert_eq!(
        (
            totals["tests"].as_u64(),
            totals["passed"].as_u64(),
            totals["failed"].as_u64(),
            totals["skipped"].as_u64(),
            totals["flaky"].as_u64()
        ),
        (Some(9), Some(7), Some(1), Some(1), Some(3))
    );
    assert_eq!(
        located(&t["failures"]),
        owned(&[(
            "com.acme.cart.CartServiceTest::removesItem",
            "target/surefire-reports/TEST-com.acme.cart.CartServiceTest.xml",
            15
        )])
    );
    assert_eq!(
        located(&t["flaky_in_run"]),
        owned(&[
            (
                "com.acme.payments.RefundTest::refundsPartially()",
                "payments/build/test-results/test/TEST-com.acme.payments.RefundTest.xml",
                5
            ),
            (
                "com.acme.it.CheckoutIT::checksOutWithCard",
                "target/failsafe-reports/TEST-com.acme.it.CheckoutIT.xml",
                3
            ),
            (
                "com.acme.cart.CartServiceTest::appliesCoupon",
                "target/surefire-reports/TEST-com.acme.cart.CartServiceTest.xml",
                8
            ),
        ])
    );
    assert_eq!(
        t["flaky_in_run"][2]["message"],
        "expected: <90> but was: <100>"
    );
    assert_eq!(t["slowest_suites"][0]["name"], "com.acme.it.CheckoutIT");

    assert_eq!(t["set_aside_total"], 1);
    assert_eq!(
        t["set_aside"][0]["location"]["path"],
        "src/test/resources/junit/TEST-broken-fixture.xml"
    );
    assert!(
        t["set_aside"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("committed to git")
    );

    let report = check_report(root, &["--event", "local"]);
    assert_eq!(states(&report, "tests.ran"), ["pass"]);
    assert_eq!(states(&report, "tests.passing"), ["fail"]);
    assert_eq!(states(&report, "tests.flaky"), ["warn", "warn", "warn"]);
    // No history given: the rate is not judged.
    assert_eq!(states(&report, "tests.flake-rate"), ["skip"]);
    assert_eq!(states(&report, "tests.duration"), ["pass"]);

    // A project in a test-named folder: its build output is this run's.
    write(
        checkout.path(),
        "tests/integration/build/test-results/test/TEST-com.acme.it.SmokeIT.xml",
        "<testsuite name=\"com.acme.it.SmokeIT\" tests=\"1\"><testcase classname=\"com.acme.it.SmokeIT\" name=\"starts\" time=\"2.5\"/></testsuite>\n",
    );
    let ev = evidence(root, &[]);
    assert_eq!(ev["tests"]["totals"]["tests"], 10);

    // Outside git the path decides: test resources are test data.
    let plain = tempfile::tempdir().unwrap();
    copy_dir(Path::new(JVM), plain.path());
    let ev = evidence(plain.path().to_str().unwrap(), &[]);
    assert_eq!(ev["tests"]["reports"].as_array().unwrap().len(), 3);
    assert_eq!(
        ev["tests"]["set_aside"][0]["reason"],
        "its path is in test scope"
    );
}

/// Committed reports are never this run's: with none left the rules skip
/// and say what was set aside.
#[test]
fn committed_reports_are_set_aside_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "readygate.yaml", "service: s\nowners: ['@o/t']\n");
    write(
        root,
        "test_results/TEST-old.xml",
        "<testsuite name=\"old\"><testcase classname=\"c\" name=\"t\"><failure message=\"stale\"/></testcase></testsuite>\n",
    );
    write(
        root,
        "build/test-results/pom/TEST-pom.xml",
        "<?xml version=\"1.0\"?>\n<!-- generated -->\n<project xmlns=\"http://maven.apache.org/POM/4.0.0\"><modelVersion>4.0.0</modelVersion></project>\n",
    );
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "test_results", "readygate.yaml"]);
    git(root, &["commit", "-qm", "base"]);
    let ev = evidence(root.to_str().unwrap(), &[]);
    let t = &ev["tests"];
    assert_eq!(t["source"], serde_json::Value::Null);
    let reasons: Vec<&str> = t["set_aside"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "not a JUnit report: root element <project>: a Maven POM, not a test report; narrow the glob",
            "committed to git: test data or a stale copy, not this run's output",
        ]
    );
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    let ran = findings(&report, "tests.ran");
    assert_eq!(ran[0]["state"], "skip");
    assert!(
        ran[0]["message"]
            .as_str()
            .unwrap()
            .contains("2 file(s) found by name were set aside"),
        "{}",
        ran[0]["message"]
    );
}

/// nextest (flaky, and `flaky-result = "fail"`), pytest with `file`/`line`
/// (0-based in the report), jest-junit's suite that failed to run,
/// go-junit-report's one-word messages; named by the manifest.
#[test]
fn polyglot_reports_named_by_the_manifest() {
    let ev = evidence(POLYGLOT, &[]);
    let t = &ev["tests"];
    assert_eq!(t["source"], "manifest");
    assert_eq!(t["totals"]["tests"], 13);
    assert_eq!(t["totals"]["errored"], 1);
    let failures = &t["failures"];
    assert_eq!(
        located(failures),
        owned(&[
            (
                "tests.test_orders::test_cancel_order",
                "tests/test_orders.py",
                27
            ),
            (
                "github.com/acme/ledger/stock::TestRelease",
                "stock/report.xml",
                9
            ),
            (
                "ledger::tests::closes_period",
                "target/nextest/ci/junit.xml",
                12
            ),
            (
                "Test suite failed to run::src/checkout.test.ts",
                "web/junit.xml",
                10
            ),
        ])
    );
    // The test's source, with its report as the related place.
    assert_eq!(failures[0]["report"]["path"], "reports/junit.xml");
    assert_eq!(
        failures[1]["message"],
        "stock_test.go:42: released 2, want 3"
    );
    let flaky = &t["flaky_in_run"];
    assert_eq!(flaky[0]["id"], "ledger::tests::reconciles_under_load");
    assert_eq!(flaky[0]["attempts"], 2);
    assert_eq!(
        flaky[0]["message"],
        "thread 'tests::reconciles_under_load' panicked at src/lib.rs:88:9: assertion failed: balance == 0"
    );

    let report = check_report(POLYGLOT, &["--event", "local"]);
    // Failures at test sources (test scope) are judged: the rule says so.
    assert_eq!(states(&report, "tests.passing"), ["fail"; 4]);
    // 2 of 13 skipped: over 10 %, but under the 3 skips worth a finding.
    assert_eq!(states(&report, "tests.skipped"), ["pass"]);
}

#[test]
fn a_share_of_skipped_tests_warns_once_there_are_a_few() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cases: String = (0..10)
        .map(|i| {
            if i < 3 {
                format!("<testcase name=\"t{i}\" classname=\"c\"><skipped message=\"flaky on CI\"/></testcase>")
            } else {
                format!("<testcase name=\"t{i}\" classname=\"c\"/>")
            }
        })
        .collect();
    write(
        root,
        "build/test-results/test/TEST-c.xml",
        &format!("<testsuite name=\"c\" time=\"1\">{cases}</testsuite>"),
    );
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    let skipped = findings(&report, "tests.skipped");
    assert_eq!(skipped[0]["state"], "warn");
    assert_eq!(
        skipped[0]["message"],
        "3 of 10 tests skipped (30.0%), over 10.0%: skipped tests test nothing"
    );
}

#[test]
fn no_report_source_skips_and_a_given_glob_that_matches_nothing_fails() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "readygate.yaml",
        "service: s\ntier: 2\nowners: ['@o/t']\n",
    );
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    for rule in ["tests.ran", "tests.passing", "tests.skipped", "tests.flaky"] {
        let f = findings(&report, rule);
        assert_eq!(f.len(), 1, "{rule}");
        assert_eq!(f[0]["state"], "skip", "{rule}");
        assert!(
            f[0]["message"]
                .as_str()
                .unwrap()
                .starts_with("no test reports given"),
            "{}",
            f[0]["message"]
        );
    }
    let report = check_report(
        root.to_str().unwrap(),
        &["--event", "local", "--junit", "build/test-results/**/*.xml"],
    );
    let ran = findings(&report, "tests.ran");
    assert_eq!(ran[0]["state"], "fail");
    assert!(
        ran[0]["message"]
            .as_str()
            .unwrap()
            .contains("no test report matched --junit (build/test-results/**/*.xml)")
    );
}

/// Reports under `$RUNNER_TEMP` are read and shown from it; an absolute
/// glob anywhere else, or one that climbs, is a usage error.
#[test]
fn runner_temp_is_allowed_and_nothing_else_outside() {
    let repo = tempfile::tempdir().unwrap();
    let temp = tempfile::tempdir().unwrap();
    write(
        repo.path(),
        "readygate.yaml",
        "service: s\nowners: ['@o/t']\n",
    );
    write(
        temp.path(),
        "junit/go.xml",
        "<testsuites><testsuite name=\"p\" time=\"1\"><testcase name=\"T\" classname=\"p\"/></testsuite></testsuites>\n",
    );
    let glob = format!("{}/junit/*.xml", temp.path().display());
    let out = readygate()
        .args(["evidence", repo.path().to_str().unwrap(), "--junit", &glob])
        .env("RUNNER_TEMP", temp.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = json(&out);
    assert_eq!(
        ev["tests"]["reports"][0]["location"]["path"],
        "$RUNNER_TEMP/junit/go.xml"
    );
    assert_eq!(ev["tests"]["totals"]["tests"], 1);
    // Without RUNNER_TEMP the same glob is outside: exit 2, named.
    let out = readygate()
        .args(["evidence", repo.path().to_str().unwrap(), "--junit", &glob])
        .env_remove("RUNNER_TEMP")
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("outside the repository"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "evidence",
        repo.path().to_str().unwrap(),
        "--junit",
        "../*/junit/*.xml",
    ]);
    assert_eq!(code(&out), 2);
}

/// Truncated XML, a wrong root, invalid UTF-8, a DOCTYPE with entities
/// (billion laughs), an empty file: each a problem naming the file; the
/// good report still counts and the gate goes on.
#[test]
fn broken_reports_are_problems_and_the_gate_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let reports = root.join("reports");
    write(
        root,
        "reports/good.xml",
        "<testsuite name=\"s\"><testcase name=\"a\" classname=\"c\"/></testsuite>\n",
    );
    write(
        root,
        "reports/truncated.xml",
        "<?xml version=\"1.0\"?>\n<testsuites>\n<testsuite name=\"s\">\n<testcase name=\"b\" classname=\"c\"/>\n<testcase name=\"c\"",
    );
    write(
        root,
        "reports/html.xml",
        "<html><body>502 Bad Gateway</body></html>\n",
    );
    let laughs = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n{}]>\n<testsuite name=\"&lol9;\"/>\n",
        (1..10)
            .map(|i| format!(
                "<!ENTITY lol{i} \"{}\">\n",
                format!("&lol{};", i - 1).repeat(10)
            ))
            .collect::<String>()
    );
    write(root, "reports/laughs.xml", &laughs);
    write(root, "reports/empty.xml", "");
    std::fs::write(
        reports.join("latin1.xml"),
        b"<testsuite name=\"s\"><testcase name=\"caf\xe9\" classname=\"c\"/></testsuite>",
    )
    .unwrap();
    let ev = evidence(root.to_str().unwrap(), &["--junit", "reports/*.xml"]);
    // The reports are this run's CI output: the tests area lists them as
    // unread, with why; they are not the repository's problems.
    let mut unread: Vec<(String, u64)> = ev["tests"]["unread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["location"]["path"].as_str().unwrap().to_string(),
                p["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    unread.sort();
    assert_eq!(
        unread,
        [
            ("reports/empty.xml".to_string(), 0),
            ("reports/html.xml".to_string(), 1),
            ("reports/latin1.xml".to_string(), 1),
            ("reports/laughs.xml".to_string(), 2),
            ("reports/truncated.xml".to_string(), 5),
        ]
    );
    assert_eq!(ev["problems"], serde_json::json!([]));
    // good.xml, and the complete case of the truncated one.
    assert_eq!(ev["tests"]["totals"]["tests"], 2);
    let report = check_report(
        root.to_str().unwrap(),
        &["--event", "local", "--junit", "reports/*.xml"],
    );
    // Each broken report fails tests.ran at its file: its tests are missing.
    let ran = findings(&report, "tests.ran");
    assert_eq!(ran.len(), 5);
    assert!(ran.iter().all(|f| f["state"] == "fail"));
    assert!(
        ran.iter().any(|f| f["location"]["path"] == "reports/truncated.xml"
            && f["location"]["line"] == 5),
        "{ran:?}"
    );
    // Said once, by tests.ran.
    assert_eq!(states(&report, "evidence.readable"), ["pass"]);
}

/// One past run: its reports and run.json.
fn past_run(dir: &Path, name: &str, commit: &str, day: u32, attempt: u32, cases: &[(&str, bool)]) {
    let cases: String = cases
        .iter()
        .map(|(name, passed)| {
            if *passed {
                format!("<testcase classname=\"app.Suite\" name=\"{name}\" file=\"src/app_test.py\" line=\"{}\" time=\"0.1\"/>\n", name.len())
            } else {
                format!("<testcase classname=\"app.Suite\" name=\"{name}\" file=\"src/app_test.py\" line=\"{}\" time=\"0.1\"><failure message=\"boom in {name}\"/></testcase>\n", name.len())
            }
        })
        .collect();
    write(
        dir,
        &format!("{name}/junit.xml"),
        &format!("<testsuites><testsuite name=\"app\">\n{cases}</testsuite></testsuites>\n"),
    );
    write(
        dir,
        &format!("{name}/run.json"),
        &format!(
            "{{\"commit\": \"{commit}\", \"started_at\": \"2026-11-{day:02}T10:00:00Z\", \"run_id\": {}, \"attempt\": {attempt}}}\n",
            1000 + day
        ),
    );
}

/// 24 days of runs: `checkout` fails on attempt 1 and passes on attempt 2 of
/// the same commit every third day (a flake rate over 2 % with 20+ runs);
/// `refund` flakes once in its 5 runs (too few to judge a rate); `search`
/// fails and passes on the newest commit (newly flaky, and 1 of 29 is over
/// 2 %); `login` fails once on a commit where it never passed (a failure,
/// not a flake); one run where everything failed is an infrastructure
/// failure and left out.
#[test]
fn a_history_folder_gives_flake_rates() {
    let repo = tempfile::tempdir().unwrap();
    let hist = tempfile::tempdir().unwrap();
    let h = hist.path();
    write(
        repo.path(),
        "readygate.yaml",
        "service: s\ntier: 2\nowners: ['@o/t']\n",
    );
    // The test source the reports name (a file that is not in the
    // repository would not be pointed at).
    write(
        repo.path(),
        "src/app_test.py",
        "def test_checkout(): pass\n",
    );
    for day in 1..=24u32 {
        let commit = format!("c{day:02}");
        let flaky_day = day % 3 == 0;
        let refund = day >= 22;
        let mut first = vec![
            ("checkout", !flaky_day),
            ("login", day != 10),
            ("search", true),
        ];
        if refund {
            first.push(("refund", day != 23));
        }
        past_run(h, &format!("run-{day:02}-1"), &commit, day, 1, &first);
        if flaky_day || (refund && day == 23) {
            let mut again = vec![("checkout", true), ("login", true), ("search", true)];
            if refund {
                again.push(("refund", true));
            }
            past_run(h, &format!("run-{day:02}-2"), &commit, day, 2, &again);
        }
    }
    // The newest commit: search fails, then passes on a re-run.
    past_run(
        h,
        "run-25-1",
        "c25",
        25,
        1,
        &[("checkout", true), ("login", true), ("search", false)],
    );
    past_run(
        h,
        "run-25-2",
        "c25",
        25,
        2,
        &[("checkout", true), ("login", true), ("search", true)],
    );
    // An infrastructure failure: everything red.
    past_run(
        h,
        "run-26-1",
        "c26",
        26,
        1,
        &[("checkout", false), ("login", false), ("search", false)],
    );

    let hist_arg = h.to_str().unwrap();
    let ev = evidence(
        repo.path().to_str().unwrap(),
        &["--junit-history", hist_arg],
    );
    let history = &ev["tests"]["history"];
    assert_eq!(history["window"], 30);
    assert_eq!(history["excluded"].as_array().unwrap().len(), 1);
    assert_eq!(history["excluded"][0]["commit"], "c26");
    let flaky: Vec<(&str, u64, u64, bool)> = history["flaky"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap(),
                f["flaky_runs"].as_u64().unwrap(),
                f["runs"].as_u64().unwrap(),
                f["new"].as_bool().unwrap(),
            )
        })
        .collect();
    // The window is the newest 30 runs: run-26 (left out), run-25 ×2 and
    // 27 of the 32 earlier runs.
    assert_eq!(
        flaky,
        [
            ("app.Suite::checkout", 7, 29, false),
            ("app.Suite::refund", 1, 5, false),
            ("app.Suite::search", 1, 29, true),
        ]
    );
    assert_eq!(history["flaky"][0]["location"]["path"], "src/app_test.py");
    assert_eq!(history["flaky"][0]["location"]["line"], 8);
    assert_eq!(
        history["flaky"][0]["last_flaky_run"],
        "run 1024 attempt 1 on c24"
    );

    let report = check_report(
        repo.path().to_str().unwrap(),
        &["--event", "local", "--junit-history", hist_arg],
    );
    let rate = findings(&report, "tests.flake-rate");
    let mut targets: Vec<&str> = rate.iter().map(|f| f["target"].as_str().unwrap()).collect();
    targets.sort();
    assert_eq!(
        targets,
        ["app.Suite::checkout", "app.Suite::search"],
        "{rate:?}"
    );
    assert!(rate.iter().all(|f| f["state"] == "fail"));
    let checkout = rate
        .iter()
        .find(|f| f["target"] == "app.Suite::checkout")
        .unwrap();
    assert!(
        checkout["message"]
            .as_str()
            .unwrap()
            .starts_with("`app.Suite::checkout` flaked in 7 of 29 runs (24.1%)"),
        "{}",
        checkout["message"]
    );
    let mut seen: Vec<&str> = findings(&report, "tests.flaky")
        .iter()
        .map(|f| f["target"].as_str().unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, ["app.Suite::refund", "app.Suite::search"]);
}

/// The manifest is the change under review's: its globs may not climb out,
/// name absolute paths elsewhere, or follow a symlink out of the tree.
#[test]
fn manifest_globs_stay_inside_the_repository() {
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "secret.xml",
        "<testsuite name=\"s\"><testcase name=\"leak\" classname=\"c\"/></testsuite>\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "readygate.yaml",
        &format!(
            "service: s\nowners: ['@o/t']\ntests:\n  junit: ['../*/secret.xml', '{}/*.xml', 'linked/*.xml']\n",
            outside.path().display()
        ),
    );
    std::os::unix::fs::symlink(outside.path(), root.join("linked")).unwrap();
    let ev = evidence(root.to_str().unwrap(), &[]);
    assert_eq!(ev["tests"]["totals"]["tests"], 0);
    let refused: Vec<&str> = ev["tests"]["unread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .filter(|m| m.contains("outside the repository"))
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    // The symlinked folder is said, not read.
    assert!(ev["tests"]["unread"].as_array().unwrap().iter().any(|p| {
        p["message"]
            .as_str()
            .unwrap()
            .contains("`linked` leads out of the tree")
    }));
    assert_eq!(
        states(
            &check_report(root.to_str().unwrap(), &["--event", "local"]),
            "tests.ran"
        ),
        ["fail", "fail", "fail"]
    );
}

/// Under --policy-ref the base's `tests.junit` decides which reports count:
/// a pull request cannot point the gate at a green file of its own.
#[test]
fn a_pull_request_cannot_choose_its_own_reports() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "readygate.yaml", "service: x\nowners: ['@o/t']\n");
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "base"]);
    git(root, &["checkout", "-qb", "pr"]);
    write(
        root,
        "docs/green.xml",
        "<testsuite name=\"fake\"><testcase name=\"ok\" classname=\"c\"/></testsuite>\n",
    );
    write(
        root,
        "readygate.yaml",
        "service: x\nowners: ['@o/t']\ntests:\n  junit: ['docs/green.xml']\n",
    );
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "pr"]);
    // The test step's real report, left by CI (not committed).
    write(
        root,
        "build/test-results/test/TEST-real.xml",
        "<testsuite name=\"real\"><testcase name=\"a\" classname=\"c\"><failure message=\"real regression\"/></testcase></testsuite>\n",
    );
    let report = check_report(
        root.to_str().unwrap(),
        &[
            "--event",
            "pull_request",
            "--branch",
            "main",
            "--policy-ref",
            "main",
        ],
    );
    let passing = findings(&report, "tests.passing");
    assert_eq!(passing.len(), 1, "{passing:?}");
    assert_eq!(passing[0]["state"], "fail");
    assert_eq!(passing[0]["message"], "`c::a` failed: real regression");
}

/// A FIFO or a device as run.json neither hangs nor reads forever; a
/// started_at that is not a time is a problem, not the newest run; a test
/// that failed in one matrix job's report and passed in another's failed.
#[test]
fn history_inputs_are_bounded_and_placed_in_time() {
    let repo = tempfile::tempdir().unwrap();
    let hist = tempfile::tempdir().unwrap();
    let h = hist.path();
    write(
        repo.path(),
        "readygate.yaml",
        "service: s\nowners: ['@o/t']\n",
    );
    past_run(h, "run-01-1", "c1", 1, 1, &[("a", true)]);
    write(h, "fifo/junit.xml", "<testsuite name=\"s\"/>\n");
    let status = std::process::Command::new("mkfifo")
        .arg(h.join("fifo/run.json"))
        .status()
        .unwrap();
    assert!(status.success());
    write(h, "zero/junit.xml", "<testsuite name=\"s\"/>\n");
    std::os::unix::fs::symlink("/dev/zero", h.join("zero/run.json")).unwrap();
    write(h, "late/junit.xml", "<testsuite name=\"s\"/>\n");
    write(
        h,
        "late/run.json",
        "{\"commit\": \"c9\", \"started_at\": \"yesterday\"}\n",
    );
    // Two matrix jobs of one run: java17 fails, java21 passes.
    write(
        h,
        "run-02-1/java17/TEST-c.xml",
        "<testsuite name=\"c\"><testcase classname=\"app.Suite\" name=\"m\"><failure message=\"on 17\"/></testcase><testcase classname=\"app.Suite\" name=\"a\"/></testsuite>\n",
    );
    write(
        h,
        "run-02-1/java21/TEST-c.xml",
        "<testsuite name=\"c\"><testcase classname=\"app.Suite\" name=\"m\"/><testcase classname=\"app.Suite\" name=\"a\"/></testsuite>\n",
    );
    write(
        h,
        "run-02-1/run.json",
        "{\"commit\": \"c2\", \"started_at\": \"2026-11-02T10:00:00+09:00\", \"run_id\": 2, \"attempt\": 1}\n",
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_readygate"))
        .args(["evidence", repo.path().to_str().unwrap(), "--junit-history"])
        .arg(h)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("a FIFO run.json hung the history");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ev = json(&out);
    // Listed with the history (the flake checks warn), not as problems
    // of the repository.
    let refused: Vec<&str> = ev["tests"]["history"]["unread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["location"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(ev["problems"], serde_json::json!([]));
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused.iter().all(|p| p.ends_with("/run.json")));
    let runs = ev["tests"]["history"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    // 2026-11-02T10:00+09:00 is 01:00Z, after 2026-11-01T10:00Z.
    assert_eq!(runs[0]["commit"], "c2");
    assert_eq!(runs[0]["failed"], 1);
}

/// `--junit $PWD/...` with the default root `.`: inside the repository.
#[test]
fn an_absolute_glob_under_a_relative_root_is_inside() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "readygate.yaml", "service: s\nowners: ['@o/t']\n");
    write(
        root,
        "out/junit.xml",
        "<testsuite name=\"s\"><testcase name=\"a\" classname=\"c\"/></testsuite>\n",
    );
    let glob = format!("{}/out/*.xml", root.canonicalize().unwrap().display());
    let out = readygate()
        .current_dir(root)
        .args(["evidence", "--junit", &glob])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["tests"]["totals"]["tests"], 1);
}

/// A policy's quarantine file: the listed tests' failures and flakes are
/// reported as skips; under --policy-ref the base's list is the one read,
/// so a pull request cannot quarantine the test it breaks.
#[test]
fn quarantined_tests_are_reported_not_counted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "readygate.yaml", "service: x\nowners: ['@o/t']\n");
    write(
        root,
        ".readygate/policy.yaml",
        "name: team\nextends: [builtin:production]\nquarantine: quarantine.yaml\n",
    );
    write(
        root,
        ".readygate/quarantine.yaml",
        "# known flaky, owner @o/t, issue #12\n- c::flaky\n",
    );
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "base"]);
    // Left by the test step, not committed.
    write(
        root,
        "build/test-results/test/TEST-c.xml",
        "<testsuite name=\"c\"><testcase classname=\"c\" name=\"flaky\"><failure message=\"timeout\"/></testcase><testcase classname=\"c\" name=\"broken\"><failure message=\"wrong total\"/></testcase></testsuite>\n",
    );
    let report = check_report(root.to_str().unwrap(), &["--event", "local"]);
    let passing: Vec<(&str, &str)> = findings(&report, "tests.passing")
        .iter()
        .map(|f| (f["state"].as_str().unwrap(), f["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        passing,
        [
            ("fail", "`c::broken` failed: wrong total"),
            (
                "skip",
                "quarantined by the policy: `c::flaky` failed: timeout"
            ),
        ]
    );
    // The pull request quarantines the test it breaks: the base's list
    // is read, so it still fails.
    git(root, &["checkout", "-qb", "pr"]);
    write(
        root,
        ".readygate/quarantine.yaml",
        "- c::flaky\n- c::broken\n",
    );
    git(root, &["commit", "-qam", "quarantine it"]);
    let report = check_report(
        root.to_str().unwrap(),
        &[
            "--event",
            "pull_request",
            "--branch",
            "main",
            "--policy-ref",
            "main",
        ],
    );
    let states = states(&report, "tests.passing");
    assert_eq!(states, ["fail", "skip"]);
    // A quarantine file that is not a list is a configuration error.
    write(root, ".readygate/quarantine.yaml", "c::flaky: true\n");
    let out = run(&["check", root.to_str().unwrap(), "--event", "local"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("quarantine"), "{}", stderr(&out));
}

/// A runner writing nanoseconds does not make a year-long suite: the time
/// is not counted and the duration rule says why, at the line. A suite
/// that failed outside its tests (a class that did not load) is a failure.
#[test]
fn implausible_times_and_suite_errors_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "readygate.yaml", "service: s\nowners: ['@o/t']\n");
    write(
        root,
        "out/junit.xml",
        "<testsuites>\n<testsuite name=\"pkg\" time=\"2\">\n<testcase classname=\"pkg\" name=\"TestA\" time=\"1500000000\"/>\n</testsuite>\n<testsuite name=\"com.acme.DbIT\" tests=\"0\" errors=\"1\">\n<error message=\"Could not initialize class com.acme.Db\" type=\"java.lang.NoClassDefFoundError\"/>\n</testsuite>\n</testsuites>\n",
    );
    let report = check_report(
        root.to_str().unwrap(),
        &["--event", "local", "--junit", "out/*.xml"],
    );
    let duration = findings(&report, "tests.duration");
    assert_eq!(duration.len(), 1, "{duration:?}");
    assert_eq!(duration[0]["state"], "warn");
    assert!(
        duration[0]["message"]
            .as_str()
            .unwrap()
            .contains("nanoseconds"),
        "{}",
        duration[0]["message"]
    );
    assert_eq!(duration[0]["location"]["line"], 3);
    let passing = findings(&report, "tests.passing");
    assert_eq!(
        passing[0]["message"],
        "`com.acme.DbIT::(suite)` failed: Could not initialize class com.acme.Db"
    );
    assert_eq!(passing[0]["location"]["line"], 6);
}

/// Files next to reports that are not reports (Failsafe's summary,
/// readygate's own JUnit output), a submodule's committed fixtures, a
/// committed symlink to nowhere: set aside with why, never failures or
/// passes of this run. A glob under a symlink out of the tree says so.
#[test]
fn sidecars_submodules_and_links_are_set_aside() {
    let lib = tempfile::tempdir().unwrap();
    write(
        lib.path(),
        "test-results/TEST-fixture.xml",
        "<testsuite name=\"f\"><testcase classname=\"F\" name=\"ok\"/></testsuite>\n",
    );
    git(lib.path(), &["init", "-q", "-b", "main"]);
    git(lib.path(), &["add", "-A"]);
    git(lib.path(), &["commit", "-qm", "fixture"]);

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "readygate.yaml", "service: s\nowners: ['@o/t']\n");
    git(root, &["init", "-q", "-b", "main"]);
    git(
        root,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            lib.path().to_str().unwrap(),
            "libs/parser",
        ],
    );
    std::os::unix::fs::symlink("build/test-results/gone.xml", root.join("junit.xml")).unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);
    let ev = evidence(root.to_str().unwrap(), &[]);
    let t = &ev["tests"];
    assert_eq!(t["source"], Value::Null, "{t}");
    let mut aside: Vec<&str> = t["set_aside"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["location"]["path"].as_str().unwrap())
        .collect();
    aside.sort();
    assert_eq!(
        aside,
        ["junit.xml", "libs/parser/test-results/TEST-fixture.xml"]
    );
    assert!(t["unread"].as_array().unwrap().is_empty());

    // Maven's glob picks up Failsafe's summary; readygate's own report
    // from an earlier step sits among the reports.
    write(
        root,
        "target/failsafe-reports/TEST-com.acme.ItTest.xml",
        "<testsuite name=\"com.acme.ItTest\"><testcase classname=\"com.acme.ItTest\" name=\"works\"/></testsuite>\n",
    );
    write(
        root,
        "target/failsafe-reports/failsafe-summary.xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<failsafe-summary result=\"255\" timeout=\"false\"><completed>1</completed><errors>0</errors><failures>0</failures><skipped>0</skipped></failsafe-summary>\n",
    );
    write(
        root,
        "target/failsafe-reports/readygate.xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"readygate\" tests=\"1\" failures=\"1\" errors=\"0\" skipped=\"0\">\n  <testsuite name=\"bronze\"><testcase classname=\"tests\" name=\"tests.ran\"><failure message=\"x\"/></testcase></testsuite>\n</testsuites>\n",
    );
    let given = [
        "--event",
        "local",
        "--junit",
        "target/failsafe-reports/*.xml",
    ];
    let report = check_report(root.to_str().unwrap(), &given);
    assert_eq!(states(&report, "tests.ran"), ["pass"]);
    assert_eq!(states(&report, "tests.passing"), ["pass"]);

    // Bazel's convenience symlink leads out of the workspace.
    let cache = tempfile::tempdir().unwrap();
    write(
        cache.path(),
        "app/test.xml",
        "<testsuites><testsuite name=\"app\"><testcase name=\"t\" classname=\"app\"/></testsuite></testsuites>\n",
    );
    std::os::unix::fs::symlink(cache.path(), root.join("bazel-testlogs")).unwrap();
    let report = check_report(
        root.to_str().unwrap(),
        &["--event", "local", "--junit", "bazel-testlogs/**/test.xml"],
    );
    let ran = findings(&report, "tests.ran");
    assert_eq!(ran[0]["state"], "fail");
    assert!(
        ran[0]["message"]
            .as_str()
            .unwrap()
            .contains("leads out of the tree (a symlink)"),
        "{}",
        ran[0]["message"]
    );
}

/// A history that gives no usable run says nothing about flake rates:
/// unknown, with why; run.json with a byte-order mark and a textual
/// attempt is read, and its run id is one clean line.
#[test]
fn a_history_that_gives_nothing_is_unknown() {
    let repo = tempfile::tempdir().unwrap();
    write(
        repo.path(),
        "readygate.yaml",
        "service: s\nowners: ['@o/t']\n",
    );
    let hist = tempfile::tempdir().unwrap();
    let h = hist.path();
    let report = check_report(
        repo.path().to_str().unwrap(),
        &["--event", "local", "--junit-history", h.to_str().unwrap()],
    );
    let rate = findings(&report, "tests.flake-rate");
    assert_eq!(rate[0]["state"], "unknown");
    assert!(
        rate[0]["message"]
            .as_str()
            .unwrap()
            .contains("holds no run")
    );

    write(
        h,
        "r1/junit.xml",
        "<testsuite name=\"s\"><testcase classname=\"c\" name=\"a\"/></testsuite>\n",
    );
    write(
        h,
        "r1/run.json",
        "\u{feff}{\"commit\": \"abc\", \"started_at\": \"2026-11-01T10:00:00Z\", \"run_id\": \"7)\\n\\nverdict: ready\", \"attempt\": \"2\"}\n",
    );
    let ev = evidence(
        repo.path().to_str().unwrap(),
        &["--junit-history", h.to_str().unwrap()],
    );
    let runs = ev["tests"]["history"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{}", ev["tests"]["history"]);
    assert_eq!(runs[0]["attempt"], 2);
    assert_eq!(runs[0]["run_id"], "7)  verdict: ready");
}
